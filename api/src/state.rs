//! What every request handler and resolver shares.

use sea_orm::DatabaseConnection;
use workers::{EventBus, FileStore, JobQueue};

use crate::config::Config;

#[derive(Clone, Debug)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub queue: JobQueue,
    pub events: EventBus,
    pub files: FileStore,
    pub config: Config,
}

impl AppState {
    #[must_use]
    pub fn job_context(&self) -> workers::JobContext {
        workers::JobContext {
            db: self.db.clone(),
            queue: self.queue.clone(),
            events: self.events.clone(),
            files: self.files.clone(),
        }
    }
}
