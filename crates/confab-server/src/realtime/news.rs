//! News about users: coming online, going offline and changing one's friendly name or
//! attributes are announced as `userUpdated` on the streams of the user's conversations, so
//! that the users who share a conversation with it hear it (each session once, however many
//! conversations it shares).

use confab_protocol::event::{EventBody, UserInfo, encode_event};
use confab_protocol::sid::Sid;

use super::context::Realtime;
use super::hub::Hub;

/// Tells the user's conversations about it as it is now: this node's sessions and, with a
/// bus, the other nodes' (the news goes whole, so that they read nothing).
pub(crate) async fn announce(rt: &Realtime, service: &Sid, identity: &str) {
    announce_to(rt, service, identity, true).await;
}

/// [`announce`] to this node's sessions only: for what every node finds out by itself
/// (another node gone silent).
pub(crate) async fn announce_here(rt: &Realtime, service: &Sid, identity: &str) {
    announce_to(rt, service, identity, false).await;
}

async fn announce_to(rt: &Realtime, service: &Sid, identity: &str, spread: bool) {
    // Numbered before reading, so that of two announcements the later read wins.
    let version = rt.presence.next_version();
    let (user, memberships) = match rt.domain.profile(service, identity).await {
        Ok(Some(profile)) => profile,
        // Deleted meanwhile, or the store failed: nothing to say.
        _ => return,
    };
    let info = UserInfo {
        identity: identity.to_owned(),
        friendly_name: user.friendly_name,
        attributes: user.attributes,
        is_online: rt.presence.is_online(service, identity),
    };
    let conversations: Vec<Sid> = memberships
        .conversations
        .into_iter()
        .map(|(sid, _)| sid)
        .collect();
    if spread && let Some(bus) = rt.hub.bus() {
        bus.news(service, &info, &conversations);
    }
    publish(&rt.hub, &info, &conversations, version);
}

/// Hands news about `info`'s user to this node's sessions in `conversations`, numbered
/// `version` (each session takes it once, through the first conversation it follows).
pub(crate) fn publish(hub: &Hub, info: &UserInfo, conversations: &[Sid], version: u64) {
    let frame_for = |conversation: &Sid| {
        let frame = encode_event(
            conversation.as_str(),
            None,
            &EventBody::UserUpdated(info.clone()),
        );
        String::from_utf8(frame).ok().map(Into::into)
    };
    hub.publish_news(conversations, frame_for, &info.identity, version);
}
