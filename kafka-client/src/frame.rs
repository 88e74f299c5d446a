//! Kafka's framing, for both ends of a connection: a 4-byte big-endian size, then that many
//! bytes. Callers read whatever the socket holds into one buffer and split frames off it here,
//! without copying and without zero-filling a buffer first.

use bytes::{Buf, Bytes, BytesMut};

/// Room to reserve for one read when no frame size is known yet: a small frame and its size
/// arrive in one read, and a larger one learns its size from the first.
pub const READ_CHUNK: usize = 16 * 1024;

/// Bytes to reserve before the next read, after [`split_frame`] said `Split::Need(need)` of a
/// buffer holding `buffered`: the rest of the frame, and at least a [`READ_CHUNK`] in all.
pub fn read_room(need: usize, buffered: usize) -> usize {
    need.max(READ_CHUNK.saturating_sub(buffered))
}

/// What the front of a read buffer holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Split {
    /// A whole frame's body, taken off the buffer.
    Frame(Bytes),
    /// This many more bytes complete the frame (0 while even its size is incomplete: the
    /// caller reads what it usually reads).
    Need(usize),
}

/// A size that says the stream is not (or no longer) Kafka frames.
#[derive(Debug, PartialEq, Eq)]
pub enum FrameError {
    Negative(i32),
    TooLarge { size: usize, max: usize },
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Negative(size) => write!(f, "negative frame size {size}"),
            FrameError::TooLarge { size, max } => {
                write!(f, "frame of {size} bytes exceeds the limit of {max}")
            }
        }
    }
}

impl std::error::Error for FrameError {}

/// Takes the first frame off `buf` if it is complete. The size is checked against `max`
/// as soon as its 4 bytes are there, before the caller reserves room for the body.
pub fn split_frame(buf: &mut BytesMut, max: usize) -> Result<Split, FrameError> {
    let Some(header) = buf.get(..4) else {
        return Ok(Split::Need(0));
    };
    let size = i32::from_be_bytes([header[0], header[1], header[2], header[3]]);
    let size = usize::try_from(size).map_err(|_| FrameError::Negative(size))?;
    if size > max {
        return Err(FrameError::TooLarge { size, max });
    }
    if buf.len() < 4 + size {
        return Ok(Split::Need(4 + size - buf.len()));
    }
    buf.advance(4);
    Ok(Split::Frame(buf.split_to(size).freeze()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_split_off_in_order_and_partial_ones_say_what_they_lack() {
        let mut buf = BytesMut::new();
        assert_eq!(split_frame(&mut buf, 100), Ok(Split::Need(0)));
        buf.extend_from_slice(&[0, 0]);
        assert_eq!(split_frame(&mut buf, 100), Ok(Split::Need(0)));
        buf.extend_from_slice(&[0, 3, b'a']);
        assert_eq!(split_frame(&mut buf, 100), Ok(Split::Need(2)));
        buf.extend_from_slice(b"bc");
        buf.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1, b'z']);
        assert_eq!(
            split_frame(&mut buf, 100),
            Ok(Split::Frame(Bytes::from_static(b"abc")))
        );
        assert_eq!(split_frame(&mut buf, 100), Ok(Split::Frame(Bytes::new())));
        assert_eq!(
            split_frame(&mut buf, 100),
            Ok(Split::Frame(Bytes::from_static(b"z")))
        );
        assert!(buf.is_empty());
    }

    #[test]
    fn sizes_out_of_bounds_are_errors() {
        let mut buf = BytesMut::from(&(-5i32).to_be_bytes()[..]);
        assert_eq!(split_frame(&mut buf, 100), Err(FrameError::Negative(-5)));
        let mut buf = BytesMut::from(&101i32.to_be_bytes()[..]);
        assert_eq!(
            split_frame(&mut buf, 100),
            Err(FrameError::TooLarge {
                size: 101,
                max: 100
            })
        );
        let mut buf = BytesMut::from(&100i32.to_be_bytes()[..]);
        assert_eq!(split_frame(&mut buf, 100), Ok(Split::Need(100)));
    }
}
