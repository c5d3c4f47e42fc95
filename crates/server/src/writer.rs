//! Group commit: appraisals waiting to be recorded are written together, one transaction per
//! batch, and each is acknowledged (to its request) only after that commit. Under load one
//! fsync then covers many appraisals; alone, an appraisal waits for nothing but its own commit.

use crate::store::{DbError, Record, Store};
use std::sync::Arc;
use tokio::sync::{Mutex, mpsc, oneshot};

const MAX_BATCH: usize = 256;

struct Job {
    record: Record,
    done: oneshot::Sender<(Record, Result<(), String>)>,
}

#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts `writers` batch writers on `store` (one suits SQLite's single writer; PostgreSQL
    /// takes several).
    pub fn start(store: Store, writers: usize) -> Writer {
        let (tx, rx) = mpsc::channel::<Job>(4096);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..writers.max(1) {
            let (rx, store) = (rx.clone(), store.clone());
            tokio::spawn(async move {
                loop {
                    let mut batch = Vec::new();
                    {
                        let mut rx = rx.lock().await;
                        match rx.recv().await {
                            Some(j) => batch.push(j),
                            None => return,
                        }
                        while batch.len() < MAX_BATCH {
                            match rx.try_recv() {
                                Ok(j) => batch.push(j),
                                Err(_) => break,
                            }
                        }
                    }
                    let records: Vec<&Record> = batch.iter().map(|j| &j.record).collect();
                    let r = store.record(&records).await.map_err(|e: DbError| e.detail);
                    drop(records);
                    for j in batch {
                        let _ = j.done.send((j.record, r.clone()));
                    }
                }
            });
        }
        Writer { tx }
    }

    /// Records one appraisal; returns it once it is committed.
    pub async fn record(&self, record: Record) -> Result<Record, DbError> {
        let (done, wait) = oneshot::channel();
        self.tx.send(Job { record, done }).await.map_err(|_| DbError::new("the audit writer stopped"))?;
        let (record, r) = wait.await.map_err(|_| DbError::new("the audit writer stopped"))?;
        r.map_err(DbError::new).map(|()| record)
    }
}
