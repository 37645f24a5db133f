-- Confab SQLite schema, version 2: roles, per-service configuration, notification levels,
-- non-chat addresses as a searchable column, and who created a conversation.

CREATE TABLE roles (
    id            INTEGER PRIMARY KEY,
    sid           TEXT NOT NULL UNIQUE,
    service_id    INTEGER NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    friendly_name TEXT NOT NULL,
    type          TEXT NOT NULL,
    permissions   TEXT NOT NULL,
    date_created  INTEGER NOT NULL,
    date_updated  INTEGER NOT NULL
);
CREATE INDEX roles_by_service ON roles(service_id, id);

CREATE TABLE service_configuration (
    service_id                            INTEGER PRIMARY KEY REFERENCES services(id) ON DELETE CASCADE,
    default_conversation_creator_role_sid TEXT NOT NULL,
    default_conversation_role_sid         TEXT NOT NULL,
    default_chat_service_role_sid         TEXT NOT NULL,
    reachability_enabled                  INTEGER NOT NULL DEFAULT 0
);

ALTER TABLE participants ADD COLUMN notification_level TEXT NOT NULL DEFAULT 'default';
ALTER TABLE participants ADD COLUMN address TEXT;
CREATE INDEX participants_by_address ON participants(service_id, address) WHERE address IS NOT NULL;
ALTER TABLE conversations ADD COLUMN created_by TEXT;
CREATE INDEX users_by_service ON users(service_id, id);
