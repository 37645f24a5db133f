//! The realtime endpoint's background tasks, each until the server stops.

use std::sync::Arc;

use super::context::Realtime;
use super::news;

/// Hands on what streams held back too long waiting for an earlier `seq` (see [`hub::HOLD`]),
/// until the server stops.
pub(crate) async fn release_held(rt: Arc<Realtime>) {
    rt.hub.release_held(rt.shutdown.clone()).await;
}

/// Prunes conversation log rows older than the retention, every `prune_interval`, until
/// `shutdown` turns true.
pub(crate) async fn prune_logs(rt: Arc<Realtime>) {
    let Some(retention) = rt.config.log_retention else {
        return;
    };
    let mut shutdown = rt.shutdown.clone();
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|s| *s) => return,
            () = tokio::time::sleep(rt.config.prune_interval) => {}
        }
        let before = rt
            .domain
            .clock()
            .now_millis()
            .saturating_sub(i64::try_from(retention.as_millis()).unwrap_or(i64::MAX));
        prune_before(&rt, before).await;
    }
}

/// Announces the profile changes the domain reports (friendly name, attributes, role, through
/// either door) to the users who share a conversation with the changed user, until
/// `shutdown` turns true.
pub(crate) async fn announce_profiles(rt: Arc<Realtime>) {
    let Some(mut news) = rt.hub.take_profile_news() else {
        return;
    };
    let mut shutdown = rt.shutdown.clone();
    loop {
        let first = tokio::select! {
            _ = shutdown.wait_for(|s| *s) => return,
            next = news.recv() => match next {
                Some(n) => n,
                None => return,
            },
        };
        // A burst of changes to one user is one announcement of how it is now.
        let mut seen = std::collections::HashSet::from([first.clone()]);
        let mut due = vec![first];
        while let Ok(n) = news.try_recv() {
            if seen.insert(n.clone()) {
                due.push(n);
            }
        }
        for (service, identity) in due {
            news::announce(&rt, &service, &identity).await;
        }
    }
}

/// Deletes every conversation log row written before `before` (unix ms), in batches.
pub(crate) async fn prune_before(rt: &Realtime, before: i64) -> u64 {
    let mut total = 0;
    loop {
        match rt.domain.prune_logs(before, 5000).await {
            Ok(0) => return total,
            Ok(n) => total += n,
            Err(e) => {
                tracing::warn!(error = %e, "pruning the event log failed");
                return total;
            }
        }
    }
}
