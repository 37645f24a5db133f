-- Last activity and message counts: a user's conversations are listed by their newest
-- message (or the user's join, whichever is later), and clients show how many messages a
-- conversation holds without counting rows.
ALTER TABLE conversations ADD COLUMN last_message_at BIGINT;
ALTER TABLE conversations ADD COLUMN messages_count BIGINT NOT NULL DEFAULT 0;
UPDATE conversations SET
    last_message_at = (SELECT max(m.date_created) FROM messages m WHERE m.conversation_id = conversations.id),
    messages_count = (SELECT count(*) FROM messages m WHERE m.conversation_id = conversations.id);
