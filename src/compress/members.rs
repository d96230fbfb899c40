//! Decompressing data made of members one after another (gzip members, zstd frames): node:zlib
//! decodes every member and then decides, from the bytes that follow one, whether another begins or
//! the data has ended (what follows is then ignored). The walk between members is the same for
//! every format; what a member is and what may follow one is the format's.

use super::codec::{Codec, Flush, Output, Step};
use crate::runtime::Result;

/// One format's members, decoded one at a time.
pub trait Member: Send {
  /// Decodes from `input` until it is used up, the output is full, or the member ends: returns
  /// the bytes consumed and whether the member ended.
  fn decode(&mut self, input: &[u8], output: &mut Output) -> Result<(usize, bool)>;

  /// After a member: reads (and consumes) what the format needs from `input` to tell what follows,
  /// and gets ready to decode the next member if one begins. `flush` is `Finish` when no more
  /// input will come.
  fn next(&mut self, input: &[u8], output: &mut Output, flush: Flush) -> Result<(usize, Next)>;

  /// As `Codec::held`.
  fn held(&self) -> usize;
}

/// What follows a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
  /// Another member, which `decode` goes on with.
  Member,
  /// The end of the data; whatever follows is ignored.
  End,
  /// Too little input to tell yet.
  Wait,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
  InMember,
  BetweenMembers,
  Ended,
}

/// A decompressor of members of `M`.
pub struct Members<M> {
  member: M,
  position: Position,
}

impl<M: Member> Members<M> {
  pub fn of(member: M) -> Self {
    Members {
      member,
      position: Position::InMember,
    }
  }
}

impl<M: Member> Codec for Members<M> {
  fn step(&mut self, input: &[u8], output: &mut Output, flush: Flush) -> Result<Step> {
    let mut consumed = 0;
    loop {
      match self.position {
        Position::Ended => {
          return Ok(Step {
            consumed: input.len(),
            done: true,
          })
        }
        Position::BetweenMembers => {
          let (taken, next) = self.member.next(&input[consumed..], output, flush)?;
          consumed += taken;
          match next {
            Next::Member => self.position = Position::InMember,
            Next::End => self.position = Position::Ended,
            Next::Wait => return Ok(Step { consumed, done: false }),
          }
        }
        Position::InMember => {
          let (taken, ended) = self.member.decode(&input[consumed..], output)?;
          consumed += taken;
          if !ended {
            return Ok(Step { consumed, done: false });
          }
          self.position = Position::BetweenMembers;
        }
      }
    }
  }

  fn held(&self) -> usize {
    self.member.held()
  }
}
