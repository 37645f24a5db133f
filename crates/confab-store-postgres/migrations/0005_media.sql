-- Media: the records of uploaded files. Deleting a message, a conversation or a service
-- condemns its media in the same transaction, and the sweeper condemns uploads that expired
-- unattached (a condemned upload can no longer be attached); it then deletes their bytes, then
-- the records, so a crash between those steps only repeats work. No foreign key: the records
-- outlive what they belonged to until swept.
CREATE TABLE media (
    id              BIGSERIAL PRIMARY KEY,
    sid             TEXT NOT NULL UNIQUE,
    -- Not a foreign key: a deleted service's media is still swept.
    service_sid     TEXT NOT NULL,
    author          TEXT NOT NULL,
    category        TEXT NOT NULL,
    content_type    TEXT NOT NULL,
    filename        TEXT,
    size            BIGINT NOT NULL,
    conversation_sid TEXT,
    message_sid     TEXT,
    -- An unattached upload is swept after this (unix ms).
    expires         BIGINT NOT NULL,
    condemned       BOOLEAN NOT NULL DEFAULT FALSE,
    date_created    BIGINT NOT NULL,
    date_updated    BIGINT NOT NULL
);
CREATE INDEX media_by_message ON media(message_sid) WHERE message_sid IS NOT NULL;
CREATE INDEX media_by_conversation ON media(conversation_sid) WHERE conversation_sid IS NOT NULL;
CREATE INDEX media_by_service ON media(service_sid);
CREATE INDEX media_unattached ON media(expires) WHERE message_sid IS NULL;
CREATE INDEX media_condemned ON media(id) WHERE condemned;

-- A message's media as it lists them (JSON), NULL for a text message: media is immutable, so
-- reading a message needs no join.
ALTER TABLE messages ADD COLUMN media TEXT;
