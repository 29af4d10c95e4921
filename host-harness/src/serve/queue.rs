//! Deliveries queue for one worker that hands them to the component together: under load, the
//! deliveries waiting while one call runs go into the next `handle-batch` call (one instance,
//! one transaction); alone, a delivery goes on its own at once. Each handler still waits for its
//! own committed result.

use crate::api::WebhookRequest;
use crate::app::webhook::Delivery;
use crate::app::{App, AppError, AppResult};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Deliveries handed to the component in one call, at most.
pub const MAX_BATCH: usize = 64;
/// Deliveries waiting, at most; past it a handler waits for room (back-pressure on ADO).
const CAPACITY: usize = 1024;

type Job = (WebhookRequest, oneshot::Sender<AppResult<Delivery>>);

/// The sending side; the worker stops when every sender is gone.
#[derive(Clone)]
pub struct DeliveryQueue {
    tx: mpsc::Sender<Job>,
}

impl DeliveryQueue {
    /// Start the worker on the current runtime.
    pub fn spawn(app: Arc<App>) -> DeliveryQueue {
        let (tx, rx) = mpsc::channel(CAPACITY);
        tokio::spawn(work(app, rx));
        DeliveryQueue { tx }
    }

    /// Queue a delivery and wait for its committed result.
    pub async fn submit(&self, request: WebhookRequest) -> AppResult<Delivery> {
        let (done, result) = oneshot::channel();
        self.tx
            .send((request, done))
            .await
            .map_err(|_| AppError::Io("the delivery worker has stopped".into()))?;
        result
            .await
            .map_err(|_| AppError::Io("the delivery worker dropped the delivery".into()))?
    }
}

async fn work(app: Arc<App>, mut rx: mpsc::Receiver<Job>) {
    let mut jobs: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let (requests, waiting): (Vec<_>, Vec<_>) = jobs.drain(..).unzip();
        match app.handle_webhooks(&requests).await {
            Ok(results) => {
                for (done, result) in waiting.into_iter().zip(results) {
                    let _ = done.send(result);
                }
            }
            Err(e) => {
                for done in waiting {
                    let _ = done.send(Err(e.clone()));
                }
            }
        }
    }
}
