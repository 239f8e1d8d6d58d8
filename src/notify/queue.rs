//! A bounded queue that never blocks its producer: when full, the oldest
//! item makes room and is counted.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use tokio::sync::Notify;

/// Items waiting for one destination.
#[derive(Debug)]
pub struct DropQueue<T> {
    items: Mutex<State<T>>,
    capacity: usize,
    ready: Notify,
    dropped: AtomicU64,
}

#[derive(Debug)]
struct State<T> {
    items: VecDeque<T>,
    closed: bool,
}

impl<T> DropQueue<T> {
    /// A queue that holds at most `capacity` items (at least one).
    pub fn new(capacity: usize) -> DropQueue<T> {
        DropQueue {
            items: Mutex::new(State {
                items: VecDeque::new(),
                closed: false,
            }),
            capacity: capacity.max(1),
            ready: Notify::new(),
            dropped: AtomicU64::new(0),
        }
    }

    /// Adds `item`; returns true when the oldest item was dropped to make room.
    /// Items pushed after [`DropQueue::close`] are dropped and counted.
    pub fn push(&self, item: T) -> bool {
        let dropped = {
            let mut state = self.items.lock().expect("queue lock");
            if state.closed {
                true
            } else {
                let full = state.items.len() >= self.capacity;
                if full {
                    state.items.pop_front();
                }
                state.items.push_back(item);
                full
            }
        };
        if dropped {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        self.ready.notify_one();
        dropped
    }

    /// The oldest item; waits for one. `None` once closed and empty.
    pub async fn pop(&self) -> Option<T> {
        loop {
            let ready = self.ready.notified();
            {
                let mut state = self.items.lock().expect("queue lock");
                if let Some(item) = state.items.pop_front() {
                    return Some(item);
                }
                if state.closed {
                    return None;
                }
            }
            ready.await;
        }
    }

    /// No more items will be accepted; [`DropQueue::pop`] drains what is left.
    pub fn close(&self) {
        self.items.lock().expect("queue lock").closed = true;
        self.ready.notify_waiters();
        self.ready.notify_one();
    }

    /// Items dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Items waiting now.
    pub fn len(&self) -> usize {
        self.items.lock().expect("queue lock").items.len()
    }

    /// True when no item waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_oldest_item_makes_room_and_is_counted() {
        let queue = DropQueue::new(2);
        assert!(!queue.push(1));
        assert!(!queue.push(2));
        assert!(queue.push(3), "full: 1 is dropped");
        assert_eq!(queue.dropped(), 1);
        assert_eq!(queue.pop().await, Some(2));
        assert_eq!(queue.pop().await, Some(3));
        queue.close();
        assert_eq!(queue.pop().await, None);
        assert!(queue.push(4), "closed: dropped");
        assert_eq!(queue.dropped(), 2);
    }

    #[tokio::test]
    async fn a_waiting_consumer_wakes_for_a_new_item_and_for_close() {
        let queue = std::sync::Arc::new(DropQueue::new(4));
        let consumer = {
            let queue = queue.clone();
            tokio::spawn(async move { (queue.pop().await, queue.pop().await) })
        };
        tokio::task::yield_now().await;
        queue.push("event");
        queue.close();
        assert_eq!(consumer.await.unwrap(), (Some("event"), None));
    }
}
