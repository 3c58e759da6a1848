//! A synthetic member of a Janus VideoRoom, with the same media as a member of a call through
//! Room, through Janus's API on its WebSocket (subprotocol `janus-protocol`): a session; a
//! publisher handle that publishes one sending connection (its rids are listed smallest first:
//! `rid_order` `lmh`) and hears of the other publishers; and a subscriber handle whose one
//! connection, offered by Janus, receives every other member's microphone and up to
//! `video_slots` cameras, each at the substream that fits the member's tiles (`configure`).
//!
//! Signalling runs as one sequence of requests, each waiting for its answer (the event with
//! its transaction, after an `ack`); what Janus says meanwhile of its own accord is kept for
//! later. The media of both connections runs beside it, in the same task.

use std::cell::RefCell;
use std::collections::{BTreeSet, VecDeque};
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_util::future::{select, Either};
use futures_util::pin_mut;
use serde_json::{json, Value};

use super::connection::Connection;
use super::tally::{Plan, Report};
use super::{server_ip, MAX_DATAGRAM};
use crate::clock::Clock;
use crate::reactor::{sleep, sleep_until, Direction as Ready};
use crate::wire::{connect_speaking, Conn, Event as WsEvent, Writer};

/// How long one request may wait for its answer.
const WAIT: Duration = Duration::from_secs(20);
/// Janus ends a session 60 s after its last request.
const KEEPALIVE_EVERY: Duration = Duration::from_secs(25);
/// Janus's error for a room that does not exist (yet).
const NO_SUCH_ROOM: i64 = 426;
/// Janus's error for a room that exists already.
const ROOM_EXISTS: i64 = 427;
/// How often a member retries joining a room its creator has not made yet.
const JOIN_RETRY: Duration = Duration::from_millis(50);

/// Takes part in Janus room `room` at `url` as the member `report` is of; member `creates`
/// makes the room. Until the run clock reads `until`.
#[allow(clippy::too_many_arguments)]
pub(super) async fn take_part(
    url: &str,
    room: u64,
    creates: bool,
    plan: &Plan,
    video_slots: usize,
    clock: Clock,
    until: u64,
    report: &mut Report,
) -> Result<(), String> {
    let local_ip = server_ip(url)?;
    let conn = connect_speaking(url, WAIT, Some("janus-protocol"))
        .await
        .map_err(|err| err.to_string())?;
    let joined_at = Instant::now();
    let Conn { mut reader, writer } = conn;
    let (frames_tx, frames) = async_channel::unbounded::<Value>();
    let reading = async move {
        loop {
            match reader.next().await {
                Ok(WsEvent::Text(text, _)) => {
                    let Ok(frame) = serde_json::from_str::<Value>(text) else {
                        continue;
                    };
                    if frames_tx.send(frame).await.is_err() {
                        return;
                    }
                }
                Ok(WsEvent::Close(_)) | Err(_) => return,
            }
        }
    };
    let publisher = Rc::new(RefCell::new(
        Connection::new(local_ip).map_err(|err| format!("media socket: {err}"))?,
    ));
    let subscriber: Rc<RefCell<Option<Connection>>> = Rc::new(RefCell::new(None));
    let report = RefCell::new(report);
    let signalling = async {
        let mut janus = Janus {
            writer: &writer,
            frames: &frames,
            unsolicited: VecDeque::new(),
            next_transaction: 0,
            session: 0,
        };
        let session = janus.call(json!({"janus": "create"})).await?;
        janus.session = number(&session["data"]["id"])?;
        let pub_handle = janus.attach().await?;
        if creates {
            let created = janus
                .message(
                    pub_handle,
                    json!({
                        "request": "create",
                        "room": room,
                        "publishers": 500,
                        "videocodec": "vp8",
                        "audiocodec": "opus",
                        "audiolevel_ext": true,
                        "audiolevel_event": false,
                        "transport_wide_cc_ext": true,
                        "fir_freq": 0,
                        "bitrate": 0,
                        "record": false,
                    }),
                    None,
                )
                .await?;
            let code = created.0["error_code"].as_i64();
            if code.is_some_and(|code| code != ROOM_EXISTS) {
                return Err(format!("creating the room: {}", created.0));
            }
        }
        let display = format!("m{}", report.borrow().index);
        let joined = loop {
            let join =
                json!({"request": "join", "ptype": "publisher", "room": room, "display": display});
            let (data, _) = janus.message(pub_handle, join, None).await?;
            if data["error_code"].as_i64() == Some(NO_SUCH_ROOM) {
                sleep(JOIN_RETRY).await;
                continue;
            }
            if data["videoroom"] != "joined" {
                return Err(format!("joining the room: {data}"));
            }
            break data;
        };
        report.borrow_mut().id = Some(joined["id"].to_string());
        let mut feeds = Feeds::new(video_slots);
        feeds.add(&joined["publishers"]);

        let (sdp, _) = publisher
            .borrow_mut()
            .offer(plan, 0, 0)
            .ok_or("nothing to publish")?;
        let jsep = json!({"type": "offer", "sdp": sdp, "rid_order": "lmh"});
        let (data, answer) = janus
            .message(pub_handle, json!({"request": "publish"}), Some(jsep))
            .await?;
        let answer = answer.ok_or_else(|| format!("publishing: {data}"))?;
        publisher
            .borrow_mut()
            .accept_answer(answer["sdp"].as_str().unwrap_or_default())?;

        let sub_handle = janus.attach().await?;
        let substream = substream_for(plan.view.1);
        let mut subscribed = false;
        let mut keepalive = Instant::now() + KEEPALIVE_EVERY;
        loop {
            // What Janus said of its own accord: new publishers, and renegotiations.
            while let Some(event) = janus.unsolicited.pop_front() {
                let data = &event["plugindata"]["data"];
                if event["sender"].as_u64() == Some(pub_handle) {
                    feeds.add(&data["publishers"]);
                } else if let Some(offer) = event["jsep"]["sdp"].as_str() {
                    let answer = answer_offer(&subscriber, local_ip, offer)?;
                    janus.start(sub_handle, answer).await?;
                }
            }
            let streams = feeds.take_new();
            if !streams.is_empty() {
                let request = if subscribed {
                    json!({"request": "subscribe", "streams": streams})
                } else {
                    json!({"request": "join", "ptype": "subscriber", "room": room, "streams": streams})
                };
                let (data, offer) = janus.message(sub_handle, request, None).await?;
                if let Some(offer) = offer {
                    let answer = answer_offer(
                        &subscriber,
                        local_ip,
                        offer["sdp"].as_str().unwrap_or_default(),
                    )?;
                    janus.start(sub_handle, answer).await?;
                    subscribed = true;
                }
                let video: Vec<Value> = data["streams"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|stream| stream["type"] == "video" && stream["active"] != false)
                    .filter_map(|stream| stream["mid"].as_str())
                    .map(|mid| json!({"mid": mid, "substream": substream, "temporal": 2}))
                    .collect();
                if !video.is_empty() {
                    let configure = json!({"request": "configure", "streams": video});
                    janus.message(sub_handle, configure, None).await?;
                }
            }
            if clock.now() >= until {
                let _ = janus.send(json!({"janus": "destroy"})).await;
                return Ok(());
            }
            if Instant::now() >= keepalive {
                keepalive = Instant::now() + KEEPALIVE_EVERY;
                janus.send(json!({"janus": "keepalive"})).await?;
            }
            janus
                .wait_unsolicited(keepalive.min(clock.instant(until)))
                .await?;
        }
    };
    let media = async {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        let quiet = Plan {
            audio_level: None,
            camera: false,
            flood_bits_per_second: 0,
            ..plan.clone()
        };
        loop {
            let now = Instant::now();
            if clock.now() >= until {
                return Ok::<(), String>(());
            }
            let (wake, pub_socket, sub_socket) = {
                let mut tally = report.borrow_mut();
                publisher.borrow_mut().turn(now, plan, &clock, &mut tally)?;
                let mut sub = subscriber.borrow_mut();
                if let Some(sub) = sub.as_mut() {
                    sub.turn(now, &quiet, &clock, &mut tally)?;
                }
                let both_up = publisher
                    .borrow()
                    .connected_at()
                    .zip(sub.as_ref().and_then(Connection::connected_at));
                if let (None, Some((first, second))) = (tally.connected_after, both_up) {
                    tally.connected_after = Some(first.max(second).duration_since(joined_at));
                }
                let wake = [
                    publisher.borrow().wake_at(),
                    sub.as_ref().and_then(Connection::wake_at),
                    // A subscription may start at any time: look again soon.
                    Some(now + Duration::from_millis(20)),
                    Some(clock.instant(until)),
                ]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(now);
                (
                    wake,
                    publisher.borrow().socket(),
                    sub.as_ref().map(Connection::socket),
                )
            };
            if wake <= now {
                async_std::task::yield_now().await;
            }
            let woke = {
                let pub_ready = pub_socket.ready(Ready::Read);
                let sub_ready = async {
                    match &sub_socket {
                        Some(socket) => socket.ready(Ready::Read).await,
                        None => std::future::pending().await,
                    }
                };
                let timer = sleep_until(wake.max(now));
                pin_mut!(pub_ready, sub_ready, timer);
                match select(pub_ready, select(sub_ready, timer)).await {
                    Either::Left(_) => Some(true),
                    Either::Right((Either::Left(_), _)) => Some(false),
                    Either::Right((Either::Right(_), _)) => None,
                }
            };
            let mut tally = report.borrow_mut();
            match woke {
                Some(true) => publisher.borrow_mut().read(&mut buf, &clock, &mut tally)?,
                Some(false) => {
                    if let Some(sub) = subscriber.borrow_mut().as_mut() {
                        sub.read(&mut buf, &clock, &mut tally)?;
                    }
                }
                None => {}
            }
        }
    };
    pin_mut!(reading, signalling, media);
    let working = async {
        match select(signalling, media).await {
            Either::Left((Ok(()), media)) => media.await,
            Either::Left((Err(err), _)) | Either::Right((Err(err), _)) => Err(err),
            Either::Right((Ok(()), signalling)) => signalling.await,
        }
    };
    pin_mut!(working);
    let outcome = match select(reading, working).await {
        Either::Left(((), _)) => Err("the WebSocket closed".to_owned()),
        Either::Right((outcome, _)) => outcome,
    };
    let _ = writer.close().await;
    outcome
}

/// Takes Janus's offer on the subscriber connection (made on the first one) and answers it.
fn answer_offer(
    subscriber: &Rc<RefCell<Option<Connection>>>,
    local_ip: std::net::IpAddr,
    offer: &str,
) -> Result<String, String> {
    let mut subscriber = subscriber.borrow_mut();
    if subscriber.is_none() {
        *subscriber =
            Some(Connection::new(local_ip).map_err(|err| format!("media socket: {err}"))?);
    }
    subscriber.as_mut().expect("made above").accept_offer(offer)
}

/// The substream that fills a tile `height` pixels tall: 0 (180), 1 (360) or 2 (720), as
/// Room's router picks a layer.
fn substream_for(height: u32) -> u8 {
    match height {
        0..=207 => 0,
        208..=414 => 1,
        _ => 2,
    }
}

fn number(value: &Value) -> Result<u64, String> {
    value
        .as_u64()
        .ok_or_else(|| format!("not a number: {value}"))
}

/// The other publishers' streams and which of them are subscribed.
struct Feeds {
    video_slots: usize,
    videos: usize,
    seen: BTreeSet<u64>,
    new: Vec<Value>,
}

impl Feeds {
    fn new(video_slots: usize) -> Self {
        Feeds {
            video_slots,
            videos: 0,
            seen: BTreeSet::new(),
            new: Vec::new(),
        }
    }

    /// Publishers from a `joined` or `publishers` list: every audio stream, and video streams
    /// while there are slots.
    fn add(&mut self, publishers: &Value) {
        for publisher in publishers.as_array().into_iter().flatten() {
            let Some(feed) = publisher["id"].as_u64() else {
                continue;
            };
            if !self.seen.insert(feed) {
                continue;
            }
            for stream in publisher["streams"].as_array().into_iter().flatten() {
                let Some(mid) = stream["mid"].as_str() else {
                    continue;
                };
                match stream["type"].as_str() {
                    Some("audio") => self.new.push(json!({"feed": feed, "mid": mid})),
                    Some("video") if self.videos < self.video_slots => {
                        self.videos += 1;
                        self.new.push(json!({"feed": feed, "mid": mid}));
                    }
                    _ => {}
                }
            }
        }
    }

    fn take_new(&mut self) -> Vec<Value> {
        std::mem::take(&mut self.new)
    }
}

/// One session's requests over the WebSocket.
struct Janus<'a> {
    writer: &'a Writer,
    frames: &'a async_channel::Receiver<Value>,
    /// Events that answer no request of ours.
    unsolicited: VecDeque<Value>,
    next_transaction: u64,
    session: u64,
}

impl Janus<'_> {
    /// Sends `message` in this session without waiting for an answer.
    async fn send(&mut self, mut message: Value) -> Result<String, String> {
        self.next_transaction += 1;
        let transaction = format!("t{}", self.next_transaction);
        message["transaction"] = json!(transaction);
        if self.session != 0 {
            message["session_id"] = json!(self.session);
        }
        self.writer
            .send_text(&message.to_string())
            .await
            .map_err(|err| format!("sending to Janus: {err}"))?;
        Ok(transaction)
    }

    /// Sends `message` and waits for its answer: `success`, `event` or `error` with its
    /// transaction (an `ack` is not an answer).
    async fn call(&mut self, message: Value) -> Result<Value, String> {
        let transaction = self.send(message).await?;
        let deadline = Instant::now() + WAIT;
        loop {
            let frame = self.next(deadline).await?;
            if frame["transaction"] != transaction.as_str() {
                if frame["janus"] != "ack" && frame["janus"] != "success" {
                    self.unsolicited.push_back(frame);
                }
                continue;
            }
            match frame["janus"].as_str() {
                Some("ack") => {}
                Some("error") => return Err(format!("Janus: {}", frame["error"])),
                _ => return Ok(frame),
            }
        }
    }

    async fn attach(&mut self) -> Result<u64, String> {
        let attached = self
            .call(json!({"janus": "attach", "plugin": "janus.plugin.videoroom"}))
            .await?;
        number(&attached["data"]["id"])
    }

    /// A request to the plugin on `handle`: its data, and the jsep that came with it.
    async fn message(
        &mut self,
        handle: u64,
        body: Value,
        jsep: Option<Value>,
    ) -> Result<(Value, Option<Value>), String> {
        let mut message = json!({"janus": "message", "handle_id": handle, "body": body});
        if let Some(jsep) = jsep {
            message["jsep"] = jsep;
        }
        let answer = self.call(message).await?;
        let data = answer["plugindata"]["data"].clone();
        let jsep = answer.get("jsep").cloned();
        Ok((data, jsep))
    }

    /// Answers the subscriber's offer.
    async fn start(&mut self, handle: u64, answer: String) -> Result<(), String> {
        let jsep = json!({"type": "answer", "sdp": answer, "trickle": false});
        let (data, _) = self
            .message(handle, json!({"request": "start"}), Some(jsep))
            .await?;
        if data["error_code"].is_number() {
            return Err(format!("starting the subscription: {data}"));
        }
        Ok(())
    }

    /// Waits until `deadline` for something Janus says of its own accord.
    async fn wait_unsolicited(&mut self, deadline: Instant) -> Result<(), String> {
        let frame = {
            let frame = self.frames.recv();
            let timer = sleep_until(deadline);
            pin_mut!(frame, timer);
            match select(frame, timer).await {
                Either::Left((Ok(frame), _)) => Some(frame),
                Either::Left((Err(_), _)) => return Err("the WebSocket closed".into()),
                Either::Right(_) => None,
            }
        };
        if let Some(frame) = frame.filter(|frame| frame["janus"] == "event") {
            self.unsolicited.push_back(frame);
        }
        Ok(())
    }

    async fn next(&mut self, deadline: Instant) -> Result<Value, String> {
        let frame = self.frames.recv();
        let timer = sleep_until(deadline);
        pin_mut!(frame, timer);
        match select(frame, timer).await {
            Either::Left((Ok(frame), _)) => Ok(frame),
            Either::Left((Err(_), _)) => Err("the WebSocket closed".into()),
            Either::Right(_) => Err("Janus did not answer in time".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_audio_and_the_first_videos_are_subscribed_once() {
        let mut feeds = Feeds::new(1);
        let publisher = |id: u64| json!({"id": id, "streams": [{"type": "audio", "mid": "0"}, {"type": "video", "mid": "1"}]});
        feeds.add(&json!([publisher(7), publisher(8)]));
        assert_eq!(
            feeds.take_new(),
            [
                json!({"feed": 7, "mid": "0"}),
                json!({"feed": 7, "mid": "1"}),
                json!({"feed": 8, "mid": "0"})
            ]
        );
        feeds.add(&json!([publisher(7)]));
        assert!(feeds.take_new().is_empty(), "a feed is subscribed once");
    }

    #[test]
    fn substreams_fill_tiles_as_rooms_layers_do() {
        assert_eq!(substream_for(90), 0);
        assert_eq!(substream_for(270), 1);
        assert_eq!(substream_for(720), 2);
    }
}
