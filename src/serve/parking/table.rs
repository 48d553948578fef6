//! The slot table behind a worker's parking: parked connections by key,
//! and their deadlines in order.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use tokio::time::Instant;

use crate::serve::idle::Idle;

/// Slots addressed by index and generation, so a stale epoll event or
/// timer entry for a slot since reused is recognised and ignored.
#[derive(Default)]
pub(super) struct Table {
    slots: Vec<Slot>,
    free: Vec<u32>,
    /// Deadlines by key; may hold entries of connections that woke up,
    /// which are skipped (and swept out when they outnumber the live ones).
    deadlines: BinaryHeap<Reverse<(Instant, u64)>>,
    parked: usize,
}

#[derive(Default)]
struct Slot {
    generation: u32,
    parked: Option<Idle>,
}

impl Table {
    /// How many connections are parked.
    pub(super) fn parked(&self) -> usize {
        self.parked
    }

    /// Stores `conn` and returns its key.
    pub(super) fn insert(&mut self, conn: Idle) -> u64 {
        let index = self.free.pop().unwrap_or_else(|| {
            self.slots.push(Slot::default());
            (self.slots.len() - 1) as u32
        });
        let slot = &mut self.slots[index as usize];
        slot.parked = Some(conn);
        self.parked += 1;
        (u64::from(index) << 32) | u64::from(slot.generation)
    }

    /// Removes and returns the connection under `key`, if it is still there.
    pub(super) fn take(&mut self, key: u64) -> Option<Idle> {
        let index = (key >> 32) as usize;
        let slot = self.slots.get_mut(index)?;
        if u64::from(slot.generation) != key & 0xffff_ffff || slot.parked.is_none() {
            return None;
        }
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(index as u32);
        self.parked -= 1;
        slot.parked.take()
    }

    /// The earliest deadline of a connection still parked.
    pub(super) fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(&Reverse((at, key))) = self.deadlines.peek() {
            if self.holds(key) {
                return Some(at);
            }
            self.deadlines.pop();
        }
        None
    }

    /// The earliest deadline recorded, live or not.
    pub(super) fn earliest_recorded(&self) -> Option<Instant> {
        self.deadlines.peek().map(|Reverse((at, _))| *at)
    }

    fn holds(&self, key: u64) -> bool {
        self.slots.get((key >> 32) as usize).is_some_and(|slot| {
            u64::from(slot.generation) == key & 0xffff_ffff && slot.parked.is_some()
        })
    }

    /// Closes the connections whose deadline has passed.
    /// Closes the connections past their deadline: how many had not
    /// been served a request yet, and how many had.
    pub(super) fn expire(&mut self, now: Instant) -> (u64, u64) {
        let mut expired = (0, 0);
        while let Some(&Reverse((at, key))) = self.deadlines.peek() {
            if at > now {
                break;
            }
            self.deadlines.pop();
            if let Some(parked) = self.take(key) {
                tracing::debug!(peer = %parked.peer, requests = parked.served, "connection ended");
                match parked.served {
                    0 => expired.0 += 1,
                    _ => expired.1 += 1,
                }
            }
        }
        expired
    }

    /// Records when `key` expires. Entries of connections that woke up are
    /// dropped lazily; this keeps them from piling up when connections
    /// park and wake often.
    pub(super) fn push_deadline(&mut self, at: Instant, key: u64) {
        self.deadlines.push(Reverse((at, key)));
        if self.deadlines.len() > 2 * self.parked + 1024 {
            let mut all = std::mem::take(&mut self.deadlines).into_vec();
            all.retain(|Reverse((_, key))| self.holds(*key));
            self.deadlines = all.into();
        }
    }

    /// Closes every connection (at shutdown).
    pub(super) fn close_all(&mut self) {
        for slot in &mut self.slots {
            slot.parked = None;
        }
        self.parked = 0;
        self.deadlines.clear();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    fn parked_pair() -> (std::net::TcpStream, Idle) {
        // Unit tests of the table need real descriptors, not connections.
        let (client, mut parked) =
            crate::serve::idle::tests::idle_on(&crate::serve::pool::Pool::new(1, 1), b"");
        parked.served = 3;
        parked.deadline = Instant::now() + Duration::from_secs(60);
        (client, parked)
    }

    #[test]
    fn a_key_is_taken_once_and_stale_keys_miss() {
        let mut table = Table::default();
        let (_c1, p1) = parked_pair();
        let key = table.insert(p1);
        assert_eq!(table.parked, 1);
        assert_eq!(table.take(key).map(|p| p.served), Some(3));
        assert!(table.take(key).is_none(), "taken twice");
        // The slot is reused under a new generation: the old key misses.
        let (_c2, p2) = parked_pair();
        let key2 = table.insert(p2);
        assert_eq!(key2 >> 32, key >> 32, "slot reused");
        assert_ne!(key2, key);
        assert!(table.take(key).is_none(), "stale key took a new connection");
        assert!(table.take(key2).is_some());
        assert!(table.take(u64::MAX).is_none(), "unknown slot");
    }

    #[test]
    fn expiry_closes_only_connections_past_their_deadline() {
        let mut table = Table::default();
        let now = Instant::now();
        let (mut early_client, mut early) = parked_pair();
        early.deadline = now + Duration::from_secs(1);
        let (_late_client, mut late) = parked_pair();
        late.deadline = now + Duration::from_secs(5);
        let (at_early, at_late) = (early.deadline, late.deadline);
        let early_key = table.insert(early);
        table.push_deadline(at_early, early_key);
        let late_key = table.insert(late);
        table.push_deadline(at_late, late_key);
        assert_eq!(table.next_deadline(), Some(at_early));
        table.expire(now + Duration::from_secs(2));
        assert_eq!(table.parked, 1);
        assert!(!table.holds(early_key) && table.holds(late_key));
        assert_eq!(table.next_deadline(), Some(at_late));
        // The expired connection was closed: its client reads end of stream.
        use std::io::Read;
        early_client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        assert_eq!(early_client.read(&mut [0u8; 1]).unwrap(), 0);
    }

    #[test]
    fn woken_connections_leave_no_deadline_behind_for_long() {
        let mut table = Table::default();
        let (_client, mut conn) = parked_pair();
        for _ in 0..5000 {
            conn.deadline = Instant::now() + Duration::from_secs(60);
            let at = conn.deadline;
            let key = table.insert(conn);
            table.push_deadline(at, key);
            conn = table.take(key).unwrap();
        }
        assert!(
            table.deadlines.len() <= 1024 + 1,
            "{}",
            table.deadlines.len()
        );
        assert_eq!(table.next_deadline(), None);
    }

    /// Refusing parks once shutdown has started is the parking's part,
    /// checked under the table's lock (see the workers' tests).
    #[test]
    fn closing_the_table_drops_every_connection() {
        let mut table = Table::default();
        let (_c, p) = parked_pair();
        let semaphore = Arc::clone(p.ticket.permit().semaphore());
        table.insert(p);
        assert_eq!(semaphore.available_permits(), 0);
        table.close_all();
        assert_eq!(table.parked, 0);
        assert_eq!(table.next_deadline(), None);
        assert_eq!(semaphore.available_permits(), 1, "permit returned");
    }
}
