//! The pending-event set: a 4-ary min-heap keyed by `(time, seq)` packed into one
//! `u128`, so that ordering two events is one integer comparison.
//!
//! A 4-ary heap is half as deep as a binary one: a pop moves an entry through half as
//! many levels, and the four children of a node sit side by side in memory. Pops use
//! the "hole" method: the root's hole sinks to a leaf along the smallest children, and
//! the last entry fills it and rises (it usually stays near the bottom).

use super::SimTime;

/// Children per node.
const D: usize = 4;

struct Entry<E> {
    /// `time << 64 | seq`: earlier time first, then scheduling order.
    key: u128,
    event: E,
}

/// A future-event list. Events at equal times pop in the order they were scheduled.
///
/// Events are stored by value (keep them small and `Copy`); once the heap has grown to
/// the run's peak number of pending events, scheduling and popping allocate nothing.
pub struct EventQueue<E> {
    heap: Vec<Entry<E>>,
    seq: u64,
    now: SimTime,
    popped: u64,
    /// Events at or after this time are refused: `SimTime::LIMIT + 1` ns, and 0 once an
    /// event has been refused (so that every later one is too).
    cap: u64,
    /// The first event refused for falling past [`SimTime::LIMIT`], and its time.
    overrun: Option<(SimTime, E)>,
}

impl<E> std::fmt::Debug for EventQueue<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventQueue").field("pending", &self.heap.len()).field("now", &self.now).field("popped", &self.popped).finish()
    }
}

impl<E: Copy> Default for EventQueue<E> {
    fn default() -> Self {
        Self::with_capacity(64)
    }
}

impl<E: Copy> EventQueue<E> {
    /// An empty queue at time zero with room for `capacity` pending events.
    pub fn with_capacity(capacity: usize) -> Self {
        EventQueue { heap: Vec::with_capacity(capacity), seq: 0, now: SimTime::ZERO, popped: 0, cap: SimTime::LIMIT.0 + 1, overrun: None }
    }

    /// The time of the event popped last (the simulation clock).
    #[inline]
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// How many events have been popped so far.
    #[inline]
    pub fn events_processed(&self) -> u64 {
        self.popped
    }

    /// How many events are pending.
    #[inline]
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when no event is pending.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// The first event refused for falling past [`SimTime::LIMIT`], with the time it
    /// asked for. Once an event is refused the queue empties and refuses everything,
    /// so the run stops; its owner then reports what caused the overrun.
    pub fn overrun(&self) -> Option<(SimTime, E)> {
        self.overrun
    }

    /// Schedules `event` at absolute time `at`. Scheduling in the past is a logic error;
    /// such an event is clamped to `now` so that the clock never goes back. An event
    /// past [`SimTime::LIMIT`] is refused and stops the queue (see [`Self::overrun`]).
    #[inline]
    pub fn schedule(&mut self, at: SimTime, event: E) {
        debug_assert!(at >= self.now, "event scheduled in the past");
        let time = at.max(self.now);
        if time.0 >= self.cap {
            self.refuse(time, event);
            return;
        }
        let key = (time.0 as u128) << 64 | self.seq as u128;
        self.seq += 1;
        // Sift up: move parents down until the new key's place is found.
        let mut i = self.heap.len();
        self.heap.push(Entry { key, event });
        while i > 0 {
            let parent = (i - 1) / D;
            if self.heap[parent].key <= key {
                break;
            }
            self.heap[i] = Entry { key: self.heap[parent].key, event: self.heap[parent].event };
            i = parent;
        }
        self.heap[i] = Entry { key, event };
    }

    #[cold]
    fn refuse(&mut self, time: SimTime, event: E) {
        if self.overrun.is_none() {
            self.overrun = Some((time, event));
        }
        self.cap = 0;
        self.heap.clear();
    }

    /// Schedules `event` at `now + delay`.
    #[inline]
    pub fn schedule_in(&mut self, delay: SimTime, event: E) {
        self.schedule(self.now + delay, event);
    }

    /// Pops the next event and advances the clock to its time.
    #[inline(always)]
    pub fn step(&mut self) -> Option<(SimTime, E)> {
        let last = self.heap.pop()?;
        let top = match self.heap.first() {
            None => last,
            Some(root) => {
                let top = Entry { key: root.key, event: root.event };
                self.refill_root(last);
                top
            }
        };
        let time = SimTime((top.key >> 64) as u64);
        self.now = time;
        self.popped += 1;
        Some((time, top.event))
    }

    /// Removes the root: its hole sinks to a leaf along the smallest children, then
    /// `last` (the entry taken off the end) fills the hole and rises to its place.
    #[inline]
    fn refill_root(&mut self, last: Entry<E>) {
        let n = self.heap.len();
        let mut hole = 0;
        loop {
            let first = D * hole + 1;
            if first >= n {
                break;
            }
            let mut best = first;
            let mut best_key = self.heap[first].key;
            if first + D <= n {
                // A full node (the common case): four keys side by side, no bound to track.
                let kids = &self.heap[first..first + D];
                for (j, kid) in kids.iter().enumerate().skip(1) {
                    if kid.key < best_key {
                        best = first + j;
                        best_key = kid.key;
                    }
                }
            } else {
                for c in first + 1..n {
                    let k = self.heap[c].key;
                    if k < best_key {
                        best = c;
                        best_key = k;
                    }
                }
            }
            self.heap[hole] = Entry { key: best_key, event: self.heap[best].event };
            hole = best;
        }
        while hole > 0 {
            let parent = (hole - 1) / D;
            if self.heap[parent].key <= last.key {
                break;
            }
            self.heap[hole] = Entry { key: self.heap[parent].key, event: self.heap[parent].event };
            hole = parent;
        }
        self.heap[hole] = last;
    }

    /// The time of the next pending event, if any.
    #[inline]
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.first().map(|e| SimTime((e.key >> 64) as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_order_and_ties_in_insertion_order() {
        let mut q = EventQueue::with_capacity(4);
        q.schedule(SimTime(5), 'a');
        q.schedule(SimTime(1), 'b');
        q.schedule(SimTime(5), 'c');
        q.schedule(SimTime(1), 'd');
        let order: Vec<char> = std::iter::from_fn(|| q.step().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!['b', 'd', 'a', 'c']);
        assert_eq!(q.now(), SimTime(5));
        assert_eq!(q.events_processed(), 4);
    }

    /// Against a reference: a stable sort by time of everything scheduled, with pops
    /// interleaved with pushes at random (time never goes back, as in a simulation).
    #[test]
    fn matches_a_stable_sort_under_random_interleaving() {
        use rand::RngExt;
        let mut rng = crate::engine::stream(7, 0, crate::engine::Purpose::Test, "queue");
        for round in 0..200 {
            let mut q = EventQueue::with_capacity(1);
            let mut pending: Vec<(u64, u32)> = Vec::new();
            let mut next_id = 0u32;
            for _ in 0..rng.random_range(1..300) {
                if rng.random_range(0..3) > 0 || pending.is_empty() {
                    // Few distinct times, so that ties are common.
                    let t = q.now().0 + rng.random_range(0..4u64);
                    q.schedule(SimTime(t), next_id);
                    pending.push((t, next_id));
                    next_id += 1;
                } else {
                    // The reference: the earliest time, and among equals the first scheduled.
                    let i = (0..pending.len()).min_by_key(|&i| (pending[i].0, pending[i].1)).unwrap();
                    let want = pending.remove(i);
                    let (t, e) = q.step().unwrap();
                    assert_eq!((t.0, e), want, "round {round}");
                }
            }
            pending.sort();
            for want in pending {
                let (t, e) = q.step().unwrap();
                assert_eq!((t.0, e), want, "round {round}");
            }
            assert!(q.step().is_none());
        }
    }

    #[test]
    fn an_event_past_the_limit_stops_the_queue_and_is_reported() {
        let mut q = EventQueue::with_capacity(4);
        q.schedule(SimTime(5), 'a');
        q.schedule(SimTime::LIMIT, 'b');
        assert_eq!(q.step(), Some((SimTime(5), 'a')));
        q.schedule(SimTime::LIMIT + SimTime(1), 'c');
        // After the refusal nothing runs, not even an earlier event scheduled later on.
        q.schedule(SimTime(6), 'd');
        q.schedule(SimTime::NEVER, 'e');
        assert_eq!(q.step(), None);
        assert_eq!(q.overrun(), Some((SimTime::LIMIT + SimTime(1), 'c')));
        assert_eq!(q.now(), SimTime(5));
    }

    #[test]
    fn clock_never_goes_back() {
        let mut q = EventQueue::with_capacity(4);
        q.schedule(SimTime(10), 0u8);
        q.step();
        q.schedule_in(SimTime(0), 1u8);
        let (t, _) = q.step().unwrap();
        assert_eq!(t, SimTime(10));
    }
}
