//! A synthetic member of a call through Room's SFU: it joins over Room's protocol, offers one
//! connection that sends its tracks, adds the receive slots the server asks for (`slots`),
//! reports a view for every slot `assign` fills, and counts what it receives.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_util::future::{select, Either};
use futures_util::pin_mut;
use serde_json::{json, Value};

use super::connection::Connection;
use super::tally::{Plan, Report};
use super::{server_ip, Woke, MAX_DATAGRAM};
use crate::client::connect_and_join_lean;
use crate::clock::Clock;
use crate::reactor::{sleep_until, Direction as Ready};
use crate::wire::{Conn, Event as WsEvent, Writer};

/// How long any one expected frame may take.
const WAIT: Duration = Duration::from_secs(20);

/// Joins `room` on Room at `url` (a `ws://` URL) as the member `report` is of, and takes part
/// until the run clock reads `until`.
pub(super) async fn take_part(
    url: &str,
    room: &str,
    plan: &Plan,
    clock: Clock,
    until: u64,
    ids: &Rc<RefCell<BTreeMap<String, u32>>>,
    report: &mut Report,
) -> Result<(), String> {
    let joined = connect_and_join_lean(url, room, WAIT)
        .await
        .map_err(|err| err.to_string())?;
    ids.borrow_mut().insert(joined.id.clone(), report.index);
    report.id = Some(joined.id.clone());
    let joined_at = Instant::now();
    let Conn { mut reader, writer } = joined.ws;
    let mut media =
        Connection::new(server_ip(url)?).map_err(|err| format!("media socket: {err}"))?;
    let mut wanted = (0, 0);
    offer(&mut media, plan, wanted, &writer).await?;

    let (frames_tx, frames) = async_channel::unbounded::<String>();
    let reading = async move {
        loop {
            match reader.next().await {
                Ok(WsEvent::Text(text, _)) => {
                    if frames_tx.send(text.to_owned()).await.is_err() {
                        return;
                    }
                }
                Ok(WsEvent::Close(_)) | Err(_) => return,
            }
        }
    };
    let working = async {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        loop {
            let now = Instant::now();
            if clock.now() >= until {
                return Ok(());
            }
            media.turn(now, plan, &clock, report)?;
            if let (None, Some(at)) = (report.connected_after, media.connected_at()) {
                report.connected_after = Some(at.duration_since(joined_at));
            }
            let wake = media
                .wake_at()
                .into_iter()
                .chain([clock.instant(until)])
                .min()
                .unwrap_or(now);
            if wake <= now {
                // Due already: let the other members' tasks run before going on.
                async_std::task::yield_now().await;
            }
            let woke = {
                let socket = media.socket();
                let frame = frames.recv();
                let readable = socket.ready(Ready::Read);
                let timer = sleep_until(wake.max(now));
                pin_mut!(frame, readable, timer);
                match select(frame, select(readable, timer)).await {
                    Either::Left((Ok(text), _)) => Woke::Frame(text),
                    Either::Left((Err(_), _)) => Woke::Closed,
                    Either::Right((Either::Left(((), _)), _)) => Woke::Readable,
                    Either::Right((Either::Right(((), _)), _)) => Woke::Timer,
                }
            };
            match woke {
                Woke::Frame(text) => {
                    frame(&text, &mut media, plan, &mut wanted, &writer, report).await?
                }
                Woke::Closed => return Err("the WebSocket closed".into()),
                Woke::Readable => media.read(&mut buf, &clock, report)?,
                Woke::Timer => {}
            }
        }
    };
    pin_mut!(reading, working);
    let outcome = match select(reading, working).await {
        Either::Left(((), _)) => Err("the WebSocket closed".to_owned()),
        Either::Right((outcome, _)) => outcome,
    };
    let _ = writer.close().await;
    outcome
}

/// Offers what is new, if anything is and no offer is out.
async fn offer(
    media: &mut Connection,
    plan: &Plan,
    (video, audio): (usize, usize),
    writer: &Writer,
) -> Result<(), String> {
    let Some((sdp, tracks)) = media.offer(plan, video, audio) else {
        return Ok(());
    };
    let tracks: Vec<Value> = tracks
        .into_iter()
        .map(|(mid, source)| json!({"mid": mid.to_string(), "source": source}))
        .collect();
    let frame = json!({"type": "sfu_offer", "sdp": sdp, "tracks": tracks});
    writer
        .send_text(&frame.to_string())
        .await
        .map_err(|err| format!("sending the offer: {err}"))
}

/// One frame from the server.
async fn frame(
    text: &str,
    media: &mut Connection,
    plan: &Plan,
    wanted: &mut (usize, usize),
    writer: &Writer,
    report: &mut Report,
) -> Result<(), String> {
    let frame: Value = serde_json::from_str(text).map_err(|err| format!("{err}: {text}"))?;
    match frame["type"].as_str() {
        Some("sfu_answer") => {
            media.accept_answer(frame["sdp"].as_str().unwrap_or_default())?;
            offer(media, plan, *wanted, writer).await?;
        }
        Some("slots") => {
            let count = |key: &str| frame[key].as_u64().unwrap_or(0) as usize;
            *wanted = (wanted.0.max(count("video")), wanted.1.max(count("audio")));
            if !media.offering() {
                offer(media, plan, *wanted, writer).await?;
            }
        }
        Some("assign") => {
            let mut views = Vec::new();
            report.video_slots.clear();
            for slot in frame["video"].as_array().into_iter().flatten() {
                let (Some(mid), member) = (slot["slot"].as_str(), slot["member"].as_str()) else {
                    continue;
                };
                report
                    .video_slots
                    .insert(mid.to_owned(), member.map(str::to_owned));
                if member.is_some() {
                    views.push(json!({
                        "slot": mid,
                        "width": plan.view.0,
                        "height": plan.view.1,
                        "visible": true,
                    }));
                }
            }
            if !views.is_empty() {
                let view = json!({"type": "view", "slots": views});
                writer
                    .send_text(&view.to_string())
                    .await
                    .map_err(|err| format!("sending the view: {err}"))?;
            }
        }
        Some("speaking") => {
            let ids = frame["speaking"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|id| id.as_str().map(str::to_owned))
                .collect();
            let dominant = frame["dominant"].as_str().map(str::to_owned);
            report.speaking.push((ids, dominant));
        }
        Some("error") if frame["code"] == "media_failed" => {
            report
                .media_failed
                .push(frame["message"].as_str().unwrap_or_default().to_owned());
        }
        _ => {}
    }
    Ok(())
}
