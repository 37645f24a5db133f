-- Confab SQLite schema, version 1.
-- Integer keys with the SID as a unique column; conversation counters advanced in the same
-- transaction as the rows they number; the event log holds encoded frames keyed by (conversation, seq).

CREATE TABLE services (
    id            INTEGER PRIMARY KEY,
    sid           TEXT NOT NULL UNIQUE,
    friendly_name TEXT NOT NULL,
    date_created  INTEGER NOT NULL,
    date_updated  INTEGER NOT NULL
);

CREATE TABLE configuration (
    id                            INTEGER PRIMARY KEY CHECK (id = 1),
    default_service_id            INTEGER NOT NULL REFERENCES services(id),
    default_messaging_service_sid TEXT,
    default_inactive_timer        TEXT,
    default_closed_timer          TEXT
);

CREATE TABLE conversations (
    id                    INTEGER PRIMARY KEY,
    sid                   TEXT NOT NULL UNIQUE,
    service_id            INTEGER NOT NULL REFERENCES services(id),
    unique_name           TEXT,
    friendly_name         TEXT,
    attributes            TEXT NOT NULL,
    state                 TEXT NOT NULL,
    messaging_service_sid TEXT,
    timers                TEXT,
    bindings              TEXT,
    last_seq              INTEGER NOT NULL,
    last_message_index    INTEGER NOT NULL DEFAULT -1,
    participants_count    INTEGER NOT NULL DEFAULT 0,
    date_created          INTEGER NOT NULL,
    date_updated          INTEGER NOT NULL,
    UNIQUE (service_id, unique_name)
);
CREATE INDEX conversations_by_service ON conversations(service_id, id);

CREATE TABLE participants (
    id                      INTEGER PRIMARY KEY,
    sid                     TEXT NOT NULL UNIQUE,
    conversation_id         INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    service_id              INTEGER NOT NULL REFERENCES services(id),
    identity                TEXT,
    attributes              TEXT NOT NULL,
    messaging_binding       TEXT,
    role_sid                TEXT,
    last_read_message_index INTEGER,
    last_read_timestamp     TEXT,
    date_created            INTEGER NOT NULL,
    date_updated            INTEGER NOT NULL,
    UNIQUE (conversation_id, identity)
);
CREATE INDEX participants_by_conversation ON participants(conversation_id, id);
CREATE INDEX participants_by_identity ON participants(service_id, identity);

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    sid             TEXT NOT NULL UNIQUE,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    idx             INTEGER NOT NULL,
    author          TEXT NOT NULL,
    body            TEXT,
    attributes      TEXT NOT NULL,
    participant_sid TEXT,
    op_id           TEXT,
    date_created    INTEGER NOT NULL,
    date_updated    INTEGER NOT NULL,
    UNIQUE (conversation_id, idx)
);
CREATE UNIQUE INDEX messages_by_op_id ON messages(conversation_id, author, op_id) WHERE op_id IS NOT NULL;

CREATE TABLE conversation_events (
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,
    message_id      INTEGER,
    frame           BLOB NOT NULL,
    date_created    INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, seq)
) WITHOUT ROWID;
CREATE INDEX conversation_events_by_message ON conversation_events(message_id) WHERE message_id IS NOT NULL;

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    sid           TEXT NOT NULL UNIQUE,
    service_id    INTEGER NOT NULL REFERENCES services(id),
    identity      TEXT NOT NULL,
    friendly_name TEXT,
    attributes    TEXT NOT NULL DEFAULT '{}',
    role_sid      TEXT,
    last_user_seq INTEGER NOT NULL DEFAULT 0,
    date_created  INTEGER NOT NULL,
    date_updated  INTEGER NOT NULL,
    UNIQUE (service_id, identity)
);

CREATE TABLE user_events (
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,
    frame        BLOB NOT NULL,
    date_created INTEGER NOT NULL,
    PRIMARY KEY (user_id, seq)
) WITHOUT ROWID;
