-- Confab PostgreSQL schema, version 1 (the SQLite schema's versions 1 and 2 in one).
-- Integer keys with the SID as a unique column; per-conversation counters advanced in the same
-- transaction as the rows they number (the row lock on the conversation makes them gapless
-- across processes); the event log holds encoded frames keyed by (conversation, seq).

CREATE TABLE services (
    id            BIGSERIAL PRIMARY KEY,
    sid           TEXT NOT NULL UNIQUE,
    friendly_name TEXT NOT NULL,
    date_created  BIGINT NOT NULL,
    date_updated  BIGINT NOT NULL
);

CREATE TABLE configuration (
    id                            INTEGER PRIMARY KEY CHECK (id = 1),
    default_service_id            BIGINT NOT NULL REFERENCES services(id),
    default_messaging_service_sid TEXT,
    default_inactive_timer        TEXT,
    default_closed_timer          TEXT
);

CREATE TABLE roles (
    id            BIGSERIAL PRIMARY KEY,
    sid           TEXT NOT NULL UNIQUE,
    service_id    BIGINT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    friendly_name TEXT NOT NULL,
    type          TEXT NOT NULL,
    permissions   TEXT NOT NULL,
    date_created  BIGINT NOT NULL,
    date_updated  BIGINT NOT NULL
);
CREATE INDEX roles_by_service ON roles(service_id, id);

CREATE TABLE service_configuration (
    service_id                            BIGINT PRIMARY KEY REFERENCES services(id) ON DELETE CASCADE,
    default_conversation_creator_role_sid TEXT NOT NULL,
    default_conversation_role_sid         TEXT NOT NULL,
    default_chat_service_role_sid         TEXT NOT NULL,
    reachability_enabled                  BOOLEAN NOT NULL DEFAULT false
);

CREATE TABLE conversations (
    id                    BIGSERIAL PRIMARY KEY,
    sid                   TEXT NOT NULL UNIQUE,
    service_id            BIGINT NOT NULL REFERENCES services(id),
    unique_name           TEXT,
    friendly_name         TEXT,
    attributes            TEXT NOT NULL,
    state                 TEXT NOT NULL,
    messaging_service_sid TEXT,
    timers                TEXT,
    bindings              TEXT,
    last_seq              BIGINT NOT NULL,
    last_message_index    BIGINT NOT NULL DEFAULT -1,
    participants_count    INTEGER NOT NULL DEFAULT 0,
    date_created          BIGINT NOT NULL,
    date_updated          BIGINT NOT NULL,
    created_by            TEXT,
    UNIQUE (service_id, unique_name)
);
CREATE INDEX conversations_by_service ON conversations(service_id, id);

CREATE TABLE participants (
    id                      BIGSERIAL PRIMARY KEY,
    sid                     TEXT NOT NULL UNIQUE,
    conversation_id         BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    service_id              BIGINT NOT NULL REFERENCES services(id),
    identity                TEXT,
    attributes              TEXT NOT NULL,
    messaging_binding       TEXT,
    role_sid                TEXT,
    last_read_message_index BIGINT,
    last_read_timestamp     TEXT,
    date_created            BIGINT NOT NULL,
    date_updated            BIGINT NOT NULL,
    notification_level      TEXT NOT NULL DEFAULT 'default',
    address                 TEXT,
    UNIQUE (conversation_id, identity)
);
CREATE INDEX participants_by_conversation ON participants(conversation_id, id);
CREATE INDEX participants_by_identity ON participants(service_id, identity);
CREATE INDEX participants_by_address ON participants(service_id, address) WHERE address IS NOT NULL;

CREATE TABLE messages (
    id              BIGSERIAL PRIMARY KEY,
    sid             TEXT NOT NULL UNIQUE,
    conversation_id BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    idx             BIGINT NOT NULL,
    author          TEXT NOT NULL,
    body            TEXT,
    attributes      TEXT NOT NULL,
    participant_sid TEXT,
    op_id           TEXT,
    date_created    BIGINT NOT NULL,
    date_updated    BIGINT NOT NULL,
    UNIQUE (conversation_id, idx)
);
CREATE UNIQUE INDEX messages_by_op_id ON messages(conversation_id, author, op_id) WHERE op_id IS NOT NULL;

CREATE TABLE conversation_events (
    conversation_id BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq             BIGINT NOT NULL,
    message_id      BIGINT,
    frame           BYTEA NOT NULL,
    date_created    BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);
CREATE INDEX conversation_events_by_message ON conversation_events(message_id) WHERE message_id IS NOT NULL;

CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    sid           TEXT NOT NULL UNIQUE,
    service_id    BIGINT NOT NULL REFERENCES services(id),
    identity      TEXT NOT NULL,
    friendly_name TEXT,
    attributes    TEXT NOT NULL DEFAULT '{}',
    role_sid      TEXT,
    last_user_seq BIGINT NOT NULL DEFAULT 0,
    date_created  BIGINT NOT NULL,
    date_updated  BIGINT NOT NULL,
    UNIQUE (service_id, identity)
);
CREATE INDEX users_by_service ON users(service_id, id);

CREATE TABLE user_events (
    user_id      BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    seq          BIGINT NOT NULL,
    frame        BYTEA NOT NULL,
    date_created BIGINT NOT NULL,
    PRIMARY KEY (user_id, seq)
);
