//! The event bus: how a worker tells subscribers that something moved.
//!
//! On the embedded default the bus is a broadcast channel inside the process. In production it
//! is Redis pub/sub, so an artist connected to one API instance sees the payout run that a
//! worker on another machine advanced: every process subscribes once to the namespace's channel
//! and fans messages out to its local subscribers. Events are notifications, not the record:
//! a subscriber that misses one re-reads the state from the database.

use std::sync::Arc;

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

/// Capacity of each process's local fan-out; a subscriber that falls this far behind skips
/// ahead (and is told so by the channel) rather than holding memory for it.
const LOCAL_CAPACITY: usize = 1024;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A statement's parsing advanced or finished.
    StatementProgress {
        organization_id: i64,
        statement_id: i64,
        status: String,
        bytes_processed: i64,
        size_bytes: i64,
        line_count: i64,
        error_count: i64,
    },
    /// A payout run changed status (or one of its payouts was paid).
    PayoutRunUpdated {
        organization_id: i64,
        payout_run_id: i64,
        status: String,
    },
    /// An organisation's analytics roll-ups were recomputed (its analytics version moved).
    AnalyticsRefreshed { organization_id: i64 },
    /// What a credential may do changed: a user's memberships or sessions (`user_id`), or an
    /// API key was revoked (`api_key_id`). API processes drop what they cached of it.
    CredentialsChanged {
        user_id: Option<i64>,
        api_key_id: Option<i64>,
    },
}

/// What a subscriber that only looks now and then (a cache) finds on the bus.
#[derive(Debug, Default)]
pub struct Pending {
    /// The events received since the last look, oldest first.
    pub events: Vec<Event>,
    /// Whether events were skipped because the subscriber fell behind: anything may have
    /// happened, so a cache should forget everything.
    pub lagged: bool,
}

/// Takes what arrived for `receiver` without waiting. A closed bus leaves `None`, after which
/// nothing more arrives.
pub fn drain(receiver: &mut Option<broadcast::Receiver<Event>>) -> Pending {
    let mut pending = Pending::default();
    let Some(open) = receiver.as_mut() else {
        return pending;
    };
    loop {
        match open.try_recv() {
            Ok(event) => pending.events.push(event),
            Err(broadcast::error::TryRecvError::Empty) => break,
            Err(broadcast::error::TryRecvError::Lagged(_)) => pending.lagged = true,
            Err(broadcast::error::TryRecvError::Closed) => {
                *receiver = None;
                break;
            }
        }
    }
    pending
}

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("event bus (redis): {0}")]
    Redis(#[from] redis::RedisError),
    #[error("event encoding: {0}")]
    Encoding(#[from] serde_json::Error),
}

#[derive(Clone)]
pub struct EventBus {
    local: broadcast::Sender<Event>,
    remote: Option<Arc<RedisBus>>,
}

struct RedisBus {
    publisher: redis::aio::ConnectionManager,
    channel: String,
}

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBus")
            .field("redis_channel", &self.remote.as_ref().map(|r| &r.channel))
            .finish_non_exhaustive()
    }
}

impl EventBus {
    /// A bus that only reaches subscribers in this process.
    #[must_use]
    pub fn in_process() -> Self {
        let (local, _) = broadcast::channel(LOCAL_CAPACITY);
        Self {
            local,
            remote: None,
        }
    }

    /// A bus over Redis pub/sub on channel `{namespace}:events`.
    ///
    /// Spawns the task that relays the channel into this process; it reconnects on its own
    /// if Redis goes away for a while.
    ///
    /// # Errors
    /// When Redis cannot be reached at start.
    pub async fn redis(url: &str, namespace: &str) -> Result<Self, EventError> {
        let client = redis::Client::open(url)?;
        let publisher = redis::aio::ConnectionManager::new(client.clone()).await?;
        let channel = format!("{namespace}:events");
        let (local, _) = broadcast::channel(LOCAL_CAPACITY);

        // Subscribe before returning, so an event published right after start is not missed.
        let pubsub = subscribe(&client, &channel).await?;
        tokio::spawn(relay(client, channel.clone(), pubsub, local.clone()));

        Ok(Self {
            local,
            remote: Some(Arc::new(RedisBus { publisher, channel })),
        })
    }

    /// Publishes an event to every subscriber of every process sharing this bus.
    ///
    /// # Errors
    /// When Redis refuses the message; the in-process bus cannot fail.
    pub async fn publish(&self, event: &Event) -> Result<(), EventError> {
        match &self.remote {
            None => {
                // No receivers is not an error: nobody is listening right now.
                let _ = self.local.send(event.clone());
                Ok(())
            }
            Some(remote) => {
                let payload = serde_json::to_string(event)?;
                let mut conn = remote.publisher.clone();
                redis::cmd("PUBLISH")
                    .arg(&remote.channel)
                    .arg(payload)
                    .query_async::<i64>(&mut conn)
                    .await?;
                Ok(())
            }
        }
    }

    #[must_use]
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.local.subscribe()
    }

    /// Checks that the bus can deliver: always true in process, a PING over Redis.
    ///
    /// # Errors
    /// When Redis does not answer.
    pub async fn ping(&self) -> Result<(), EventError> {
        if let Some(remote) = &self.remote {
            let mut conn = remote.publisher.clone();
            redis::cmd("PING").query_async::<String>(&mut conn).await?;
        }
        Ok(())
    }
}

async fn subscribe(
    client: &redis::Client,
    channel: &str,
) -> redis::RedisResult<redis::aio::PubSub> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(channel).await?;
    Ok(pubsub)
}

async fn relay(
    client: redis::Client,
    channel: String,
    first: redis::aio::PubSub,
    local: broadcast::Sender<Event>,
) {
    let mut pubsub = Some(first);
    loop {
        let current = match pubsub.take() {
            Some(p) => p,
            None => match subscribe(&client, &channel).await {
                Ok(p) => p,
                Err(err) => {
                    tracing::warn!(error = %err, "event bus: redis subscribe failed, retrying");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    continue;
                }
            },
        };
        let mut messages = current.into_on_message();
        while let Some(message) = messages.next().await {
            let payload: String = match message.get_payload() {
                Ok(p) => p,
                Err(err) => {
                    tracing::warn!(error = %err, "event bus: unreadable message");
                    continue;
                }
            };
            match serde_json::from_str::<Event>(&payload) {
                Ok(event) => {
                    let _ = local.send(event);
                }
                Err(err) => tracing::warn!(error = %err, "event bus: unknown event"),
            }
        }
        // The relay lives as long as the process; a dropped connection is simply renewed.
        tracing::warn!("event bus: redis subscription ended, resubscribing");
    }
}
