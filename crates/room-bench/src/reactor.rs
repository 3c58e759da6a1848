//! The generator's own single-threaded reactor, which the open-loop scenarios run on: every
//! connection of a run, its readers, the scheduler that sends for all of them and the timers,
//! on one thread, with as few system calls per frame as the kernel allows.
//!
//! async-io (under async-std) costs several system calls per wake-up that this one does not:
//! it registers sockets one-shot, so every wait for a socket re-arms it (`epoll_ctl`), and
//! every turn of its loop sets a timerfd, re-arms it and its notification eventfd and reads the
//! latter (`timerfd_settime`, 2 × `epoll_ctl`, `read`). In a virtual machine each system call
//! is dear, and at a few hundred thousand frames a second they were most of the generator's
//! time. Here sockets are registered once, edge-triggered (readiness is remembered per socket
//! and cleared by the read or write that finds the socket drained or full), the timerfd is only
//! set when the earliest deadline changes, and the eventfd is only written by wakers on other
//! threads while the loop sleeps.
//!
//! [`block_on`] runs a future (typically an `async_executor::LocalExecutor` and its tasks) on
//! the current thread's reactor; [`Registration`], [`sleep_until`] and [`timeout`] are the
//! reactor's sockets and timers. A waker on another thread (a timer of async-io, say) still
//! works: it wakes the loop through the eventfd.

use std::cell::{Cell, RefCell};
use std::cmp::{Ordering as Order, Reverse};
use std::collections::BinaryHeap;
use std::future::{poll_fn, Future};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use futures_util::future::{select, Either};
use rustix::buffer::spare_capacity;
use rustix::event::{epoll, eventfd, EventfdFlags};
use rustix::time::{
    timerfd_create, timerfd_settime, Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags,
    Timespec,
};

/// The epoll key of the eventfd that wakers on other threads write.
const NOTIFY_KEY: u64 = u64::MAX;
/// The epoll key of the timerfd.
const TIMER_KEY: u64 = u64::MAX - 1;
/// Events taken per `epoll_wait`.
const EVENTS: usize = 1024;
/// How many times in a row [`block_on`] polls a future that keeps waking itself before it looks
/// at the sockets again.
const POLL_ROUNDS: usize = 8;

thread_local! {
    static REACTOR: Rc<Reactor> = Rc::new(Reactor::new().expect("epoll, timerfd and eventfd work"));
}

/// The current thread's reactor.
fn reactor() -> Rc<Reactor> {
    REACTOR.with(Rc::clone)
}

/// One thread's epoll, timers and registered sockets.
struct Reactor {
    epoll: OwnedFd,
    timerfd: OwnedFd,
    /// The deadline the timerfd is set for, if it is set.
    armed: Cell<Option<Instant>>,
    notifier: Arc<Notifier>,
    /// Registered sockets by key; `None` marks a free key.
    sources: RefCell<Vec<Option<Rc<Source>>>>,
    free: RefCell<Vec<usize>>,
    timers: RefCell<BinaryHeap<Reverse<TimerEntry>>>,
    timer_count: Cell<u64>,
    events: RefCell<Vec<epoll::Event>>,
    wakers: RefCell<Vec<Waker>>,
}

/// What [`block_on`] runs on: whether its future was woken, and how to wake the thread when
/// it sleeps in `epoll_wait`.
struct Notifier {
    woken: AtomicBool,
    sleeping: AtomicBool,
    eventfd: OwnedFd,
}

impl Wake for Notifier {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // A wake on the reactor's own thread never finds it asleep; one from another thread
        // may, and then writes the eventfd. (Both flags are sequentially consistent: either the
        // sleeper sees `woken` before it sleeps or the waker sees `sleeping`.)
        if !self.woken.swap(true, Ordering::SeqCst) && self.sleeping.load(Ordering::SeqCst) {
            let _ = rustix::io::write(&self.eventfd, &1u64.to_ne_bytes());
        }
    }
}

/// A registered socket's readiness and the tasks waiting for it.
struct Source {
    key: usize,
    readable: Cell<bool>,
    writable: Cell<bool>,
    /// The peer closed its side, or the socket failed: reads never wait again (a short read
    /// before the end of the stream clears `readable`, and no new event would come).
    read_closed: Cell<bool>,
    /// The socket failed or hung up: writes never wait again.
    write_closed: Cell<bool>,
    reader: Cell<Option<Waker>>,
    writer: Cell<Option<Waker>>,
}

/// A pending timer in the heap, earliest first (ties by creation).
struct TimerEntry {
    deadline: Instant,
    id: u64,
    slot: Rc<TimerSlot>,
}

#[derive(Default)]
struct TimerSlot {
    fired: Cell<bool>,
    waker: Cell<Option<Waker>>,
}

impl PartialEq for TimerEntry {
    fn eq(&self, other: &Self) -> bool {
        (self.deadline, self.id) == (other.deadline, other.id)
    }
}

impl Eq for TimerEntry {}

impl PartialOrd for TimerEntry {
    fn partial_cmp(&self, other: &Self) -> Option<Order> {
        Some(self.cmp(other))
    }
}

impl Ord for TimerEntry {
    fn cmp(&self, other: &Self) -> Order {
        (self.deadline, self.id).cmp(&(other.deadline, other.id))
    }
}

impl Reactor {
    fn new() -> io::Result<Self> {
        let epoll = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        let timerfd = timerfd_create(
            TimerfdClockId::Monotonic,
            TimerfdFlags::CLOEXEC | TimerfdFlags::NONBLOCK,
        )?;
        let eventfd = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        // Edge-triggered: an expiry or a write wakes the loop once; neither is read back (the
        // timerfd is set again, the eventfd's count only grows).
        let edge = epoll::EventFlags::IN | epoll::EventFlags::ET;
        epoll::add(&epoll, &timerfd, epoll::EventData::new_u64(TIMER_KEY), edge)?;
        epoll::add(
            &epoll,
            &eventfd,
            epoll::EventData::new_u64(NOTIFY_KEY),
            edge,
        )?;
        Ok(Reactor {
            epoll,
            timerfd,
            armed: Cell::new(None),
            notifier: Arc::new(Notifier {
                woken: AtomicBool::new(false),
                sleeping: AtomicBool::new(false),
                eventfd,
            }),
            sources: RefCell::new(Vec::new()),
            free: RefCell::new(Vec::new()),
            timers: RefCell::new(BinaryHeap::new()),
            timer_count: Cell::new(0),
            events: RefCell::new(Vec::with_capacity(EVENTS)),
            wakers: RefCell::new(Vec::new()),
        })
    }

    /// Takes the events that are there, or (when `block` is true and there are none) waits
    /// for some; wakes whoever they concern, and fires the timers that are due.
    ///
    /// Sleeping costs the most here (setting the timerfd, and a context switch each way), so
    /// the loop first looks without waiting, and only sets the timer and sleeps when nothing is
    /// there. (It never spins: the generator's CPU time is work.)
    fn turn(&self, block: bool) -> io::Result<()> {
        let mut events = self.events.borrow_mut();
        events.clear();
        let now = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        wait(&self.epoll, &mut events, Some(&now))?;
        if events.is_empty() && block {
            self.arm_timer()?;
            self.notifier.sleeping.store(true, Ordering::SeqCst);
            let timeout = if self.notifier.woken.load(Ordering::SeqCst) {
                Some(&now)
            } else {
                None
            };
            let waited = wait(&self.epoll, &mut events, timeout);
            self.notifier.sleeping.store(false, Ordering::SeqCst);
            waited?;
        }
        let mut wakers = self.wakers.borrow_mut();
        {
            let sources = self.sources.borrow();
            for event in events.iter() {
                match event.data.u64() {
                    NOTIFY_KEY => {}
                    TIMER_KEY => self.armed.set(None),
                    key => {
                        let Some(Some(source)) = sources.get(key as usize) else {
                            continue;
                        };
                        let flags = event.flags;
                        let failed =
                            flags.intersects(epoll::EventFlags::ERR | epoll::EventFlags::HUP);
                        if failed || flags.contains(epoll::EventFlags::RDHUP) {
                            source.read_closed.set(true);
                        }
                        if failed {
                            source.write_closed.set(true);
                        }
                        if failed
                            || flags.intersects(epoll::EventFlags::IN | epoll::EventFlags::RDHUP)
                        {
                            source.readable.set(true);
                            wakers.extend(source.reader.take());
                        }
                        if failed || flags.contains(epoll::EventFlags::OUT) {
                            source.writable.set(true);
                            wakers.extend(source.writer.take());
                        }
                    }
                }
            }
        }
        drop(events);
        self.fire_timers(Instant::now(), &mut wakers);
        for waker in wakers.drain(..) {
            waker.wake();
        }
        Ok(())
    }

    /// Sets the timerfd for the earliest timer, unless it is already set for it.
    fn arm_timer(&self) -> io::Result<()> {
        let earliest = self
            .timers
            .borrow()
            .peek()
            .map(|Reverse(entry)| entry.deadline);
        let Some(deadline) = earliest else {
            return Ok(());
        };
        if self.armed.get() == Some(deadline) {
            return Ok(());
        }
        // At least a nanosecond: zero would disarm it.
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_nanos(1));
        let zero = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let value = Itimerspec {
            it_interval: zero,
            it_value: Timespec {
                tv_sec: left.as_secs() as _,
                tv_nsec: left.subsec_nanos() as _,
            },
        };
        timerfd_settime(&self.timerfd, TimerfdTimerFlags::empty(), &value)?;
        self.armed.set(Some(deadline));
        Ok(())
    }

    fn fire_timers(&self, now: Instant, wakers: &mut Vec<Waker>) {
        let mut timers = self.timers.borrow_mut();
        while let Some(Reverse(entry)) = timers.peek() {
            if entry.deadline > now {
                break;
            }
            if let Some(Reverse(entry)) = timers.pop() {
                entry.slot.fired.set(true);
                wakers.extend(entry.slot.waker.take());
            }
        }
    }

    fn add_timer(&self, deadline: Instant, slot: Rc<TimerSlot>) {
        let id = self.timer_count.get();
        self.timer_count.set(id + 1);
        self.timers
            .borrow_mut()
            .push(Reverse(TimerEntry { deadline, id, slot }));
    }
}

/// `epoll_wait` into `events`, an interruption taken for no events.
fn wait(
    epoll: &OwnedFd,
    events: &mut Vec<epoll::Event>,
    timeout: Option<&Timespec>,
) -> io::Result<()> {
    match epoll::wait(epoll, spare_capacity(events), timeout) {
        Ok(_) | Err(rustix::io::Errno::INTR) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

/// Runs `future` to completion on this thread's reactor.
pub(crate) fn block_on<T>(future: impl Future<Output = T>) -> T {
    let reactor = reactor();
    let notifier = reactor.notifier.clone();
    let waker = Waker::from(notifier.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    notifier.woken.store(true, Ordering::SeqCst);
    loop {
        // Run it while it is woken (an executor wakes itself when it has more to run), a few
        // rounds at most before the next look at the sockets.
        for _ in 0..POLL_ROUNDS {
            if !notifier.woken.swap(false, Ordering::SeqCst) {
                break;
            }
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                return output;
            }
        }
        let block = !notifier.woken.load(Ordering::SeqCst);
        if let Err(err) = reactor.turn(block) {
            panic!("epoll_wait failed: {err}");
        }
    }
}

/// A socket registered with this thread's reactor (edge-triggered, for reading and writing);
/// deregistered when dropped.
#[derive(Debug)]
pub(crate) struct Registration<T: AsFd> {
    io: T,
    source: Rc<Source>,
}

/// Which way a socket is waited for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Direction {
    /// Data to read (or the end of the stream, or an error).
    Read,
    /// Room to write (or an error).
    Write,
}

impl<T: AsFd> Registration<T> {
    /// Registers `io`, which must be in non-blocking mode.
    pub(crate) fn new(io: T) -> io::Result<Self> {
        let reactor = reactor();
        let key = reactor.free.borrow_mut().pop().unwrap_or_else(|| {
            let mut sources = reactor.sources.borrow_mut();
            sources.push(None);
            sources.len() - 1
        });
        let source = Rc::new(Source {
            key,
            // Until a read or write says otherwise: the first one finds out.
            readable: Cell::new(true),
            writable: Cell::new(true),
            read_closed: Cell::new(false),
            write_closed: Cell::new(false),
            reader: Cell::new(None),
            writer: Cell::new(None),
        });
        let flags = epoll::EventFlags::IN
            | epoll::EventFlags::OUT
            | epoll::EventFlags::RDHUP
            | epoll::EventFlags::ET;
        if let Err(err) = epoll::add(
            &reactor.epoll,
            &io,
            epoll::EventData::new_u64(key as u64),
            flags,
        ) {
            reactor.free.borrow_mut().push(key);
            return Err(err.into());
        }
        reactor.sources.borrow_mut()[key] = Some(source.clone());
        Ok(Registration { io, source })
    }

    /// The socket.
    pub(crate) fn get_ref(&self) -> &T {
        &self.io
    }

    /// Whether the last event (or nothing yet) says the socket may be ready.
    fn flag(&self, direction: Direction) -> &Cell<bool> {
        match direction {
            Direction::Read => &self.source.readable,
            Direction::Write => &self.source.writable,
        }
    }

    /// Whether an I/O call that way would not block: the socket may be ready, or it is closed
    /// that way.
    fn is_ready(&self, direction: Direction) -> bool {
        self.flag(direction).get()
            || match direction {
                Direction::Read => self.source.read_closed.get(),
                Direction::Write => self.source.write_closed.get(),
            }
    }

    /// Records that a read or write found the socket drained or full: the next wait waits for
    /// an event.
    pub(crate) fn clear(&self, direction: Direction) {
        self.flag(direction).set(false);
    }

    /// Waits until the socket may be ready that way.
    pub(crate) async fn ready(&self, direction: Direction) {
        poll_fn(|cx| {
            if self.is_ready(direction) {
                return Poll::Ready(());
            }
            let slot = match direction {
                Direction::Read => &self.source.reader,
                Direction::Write => &self.source.writer,
            };
            let waker = match slot.take() {
                Some(waker) if waker.will_wake(cx.waker()) => waker,
                _ => cx.waker().clone(),
            };
            slot.set(Some(waker));
            Poll::Pending
        })
        .await;
    }
}

impl<T: AsFd> Drop for Registration<T> {
    fn drop(&mut self) {
        let reactor = reactor();
        let _ = epoll::delete(&reactor.epoll, &self.io);
        let key = self.source.key;
        reactor.sources.borrow_mut()[key] = None;
        reactor.free.borrow_mut().push(key);
    }
}

/// Waits until `deadline` on this thread's reactor.
pub(crate) fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        slot: None,
    }
}

/// Waits for `duration`.
pub(crate) fn sleep(duration: Duration) -> Sleep {
    sleep_until(Instant::now() + duration)
}

/// The future of [`sleep_until`].
#[derive(Debug)]
pub(crate) struct Sleep {
    deadline: Instant,
    slot: Option<Rc<TimerSlot>>,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Source")
            .field("key", &self.key)
            .field("readable", &self.readable.get())
            .field("writable", &self.writable.get())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for TimerSlot {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("TimerSlot")
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let deadline = self.deadline;
        let slot = match &self.slot {
            Some(slot) => slot.clone(),
            None => {
                if deadline <= Instant::now() {
                    return Poll::Ready(());
                }
                let slot = Rc::new(TimerSlot::default());
                reactor().add_timer(deadline, slot.clone());
                self.slot = Some(slot.clone());
                slot
            }
        };
        if slot.fired.get() {
            return Poll::Ready(());
        }
        slot.waker.set(Some(cx.waker().clone()));
        Poll::Pending
    }
}

/// `future`'s output, or `None` if `duration` passes first.
pub(crate) async fn timeout<F: Future>(duration: Duration, future: F) -> Option<F::Output> {
    match select(pin!(future), sleep(duration)).await {
        Either::Left((output, _)) => Some(output),
        Either::Right(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};

    #[test]
    fn timers_fire_in_order_and_timeouts_expire() {
        let order = RefCell::new(Vec::new());
        let started = Instant::now();
        block_on(async {
            let late = async {
                sleep(Duration::from_millis(20)).await;
                order.borrow_mut().push(20);
            };
            let early = async {
                sleep(Duration::from_millis(5)).await;
                order.borrow_mut().push(5);
            };
            futures_util::future::join(late, early).await;
            assert_eq!(
                timeout(Duration::from_millis(5), sleep(Duration::from_secs(60))).await,
                None
            );
            assert_eq!(timeout(Duration::from_secs(60), async { 7 }).await, Some(7));
        });
        assert_eq!(*order.borrow(), [5, 20]);
        assert!(started.elapsed() >= Duration::from_millis(25));
    }

    #[test]
    fn sockets_wake_their_reader_and_other_threads_wake_the_loop() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        server.set_nonblocking(true).unwrap();
        let server = Registration::new(server).unwrap();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            client.write_all(b"ping").unwrap();
            client
        });
        let read = block_on(async {
            let mut buf = [0; 16];
            loop {
                server.ready(Direction::Read).await;
                match server.get_ref().read(&mut buf) {
                    Ok(count) => return buf[..count].to_vec(),
                    Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                        server.clear(Direction::Read)
                    }
                    Err(err) => panic!("{err}"),
                }
            }
        });
        assert_eq!(read, b"ping");
        let _client = writer.join().unwrap();

        // A waker used on another thread.
        let (sender, receiver) = std::sync::mpsc::channel::<Waker>();
        let waking = std::thread::spawn(move || {
            let waker = receiver.recv().unwrap();
            std::thread::sleep(Duration::from_millis(20));
            waker.wake();
        });
        let mut sent = Some(sender);
        let mut polls = 0;
        block_on(poll_fn(|cx| {
            polls += 1;
            match sent.take() {
                Some(sender) => {
                    sender.send(cx.waker().clone()).unwrap();
                    Poll::Pending
                }
                None => Poll::Ready(()),
            }
        }));
        waking.join().unwrap();
        assert_eq!(polls, 2);
    }
}
