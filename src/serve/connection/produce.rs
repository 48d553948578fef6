//! A streamed body's producer (see [`crate::http::chunked`]) on a
//! blocking thread (it reads files), handing its chunks over a channel of
//! [`STREAM_QUEUE`] places, so memory stays flat whatever the size and a
//! producer faster than the client waits for it; for a chunked HTTP/1.1
//! body and for HTTP/2 DATA alike.

use std::io;

use tokio::sync::mpsc;

use crate::http::chunked::{ChunkSink, Stream};
use crate::serve::limits::STREAM_QUEUE;

/// What the producer's thread says.
pub(crate) enum Message {
    Chunk(Vec<u8>),
    Done,
    Failed(io::Error),
}

/// The producer's end of the channel.
struct Sender(mpsc::Sender<Message>);

impl ChunkSink for Sender {
    fn send(&mut self, data: Vec<u8>) -> io::Result<()> {
        self.0
            .blocking_send(Message::Chunk(data))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

/// Starts `stream`'s producer on a blocking thread: its chunks, then
/// how it ended, in order.
pub(crate) fn produce(stream: Stream) -> mpsc::Receiver<Message> {
    let (tx, rx) = mpsc::channel(STREAM_QUEUE);
    let produce = stream.produce;
    tokio::task::spawn_blocking(move || {
        let mut sender = Sender(tx);
        let outcome = match produce(&mut sender) {
            Ok(()) => Message::Done,
            Err(err) => Message::Failed(err),
        };
        let _ = sender.0.blocking_send(outcome);
    });
    rx
}
