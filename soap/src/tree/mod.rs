//! Hardened XML → [`Element`] tree builder on quick-xml's `Reader`.
//!
//! quick-xml never expands entities itself; we go further and refuse any DOCTYPE,
//! so no entity can even be declared. Every bound of [`Limits`] is checked as soon
//! as the event that crosses it is read, before anything is allocated for it.
//!
//! The whole input is validated as UTF-8 once, up front; names and text are then
//! borrowed from it (see [`Builder::borrow`]) instead of being validated and copied
//! piece by piece.

mod tag;

use std::borrow::Cow;

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::envelope_error::echo_bytes;
use crate::ns::Scopes;
use crate::xmlchars::{check_chars, is_xml_whitespace, map_reader_error, resolve_reference};
use crate::{Element, EnvelopeError, Limits};

/// Parses a whole document into its root element, enforcing `limits`.
pub(crate) fn parse_document<'i>(
    input: &'i [u8],
    limits: &Limits,
) -> Result<Element<'i>, EnvelopeError> {
    if input.len() > limits.max_bytes {
        return Err(EnvelopeError::TooLarge {
            size: input.len(),
            limit: limits.max_bytes,
        });
    }
    // Without quick-xml's `encoding` feature every byte is read as UTF-8; say so
    // plainly instead of failing later with a confusing error.
    if input.starts_with(&[0xFE, 0xFF]) || input.starts_with(&[0xFF, 0xFE]) {
        return Err(EnvelopeError::UnsupportedEncoding {
            encoding: "UTF-16".to_owned(),
        });
    }
    // quick-xml skips a UTF-8 byte order mark but then counts positions from after
    // it; strip it here and add it back so that spans index the caller's input.
    let (body, offset) = match input.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (rest, 3),
        None => (input, 0),
    };
    let text = std::str::from_utf8(body).map_err(|e| EnvelopeError::InvalidUtf8 {
        position: offset + e.valid_up_to(),
    })?;
    let mut builder = Builder {
        reader: Reader::from_reader(body),
        input: text,
        offset,
        scopes: Scopes::default(),
        pending_ws: Cow::Borrowed(""),
        limits,
        stack: Vec::new(),
        root: None,
        elements: 0,
        seen_any: false,
    };
    let config = builder.reader.config_mut();
    config.trim_text(false);
    config.check_end_names = true;
    config.check_comments = true;
    config.expand_empty_elements = false;
    builder.run(input.len())
}

struct Builder<'i, 'l> {
    reader: Reader<&'i [u8]>,
    /// The same bytes as the reader's, already validated as UTF-8.
    input: &'i str,
    /// Bytes stripped before the reader's input (a BOM), added to every position.
    offset: usize,
    scopes: Scopes<'i>,
    /// Whitespace read in the current element before knowing whether it is a
    /// leaf (keep it: it is data) or has children (drop it: it is indentation).
    pending_ws: Cow<'i, str>,
    limits: &'l Limits,
    stack: Vec<Element<'i>>,
    root: Option<Element<'i>>,
    elements: usize,
    seen_any: bool,
}

// === impl Builder ===

impl<'i> Builder<'i, '_> {
    fn run(mut self, input_len: usize) -> Result<Element<'i>, EnvelopeError> {
        loop {
            let start = self.position();
            let event = match self.reader.read_event() {
                Ok(event) => event,
                Err(error) => return Err(map_reader_error(error, self.error_position())),
            };
            let end = self.position();
            let first = !self.seen_any;
            self.seen_any = true;
            match event {
                Event::Decl(decl) => {
                    if !first {
                        return Err(EnvelopeError::Malformed {
                            position: end,
                            detail: "XML declaration not at the start of the document".into(),
                        });
                    }
                    if let Some(Ok(encoding)) = decl.encoding() {
                        let encoding = encoding.to_ascii_lowercase();
                        if !matches!(encoding.as_slice(), b"utf-8" | b"utf8" | b"us-ascii") {
                            return Err(EnvelopeError::UnsupportedEncoding {
                                encoding: echo_bytes(&encoding),
                            });
                        }
                    }
                }
                Event::PI(pi) => {
                    return Err(EnvelopeError::ProcessingInstruction {
                        target: echo_bytes(pi.target()),
                        position: end,
                    });
                }
                Event::DocType(_) => return Err(EnvelopeError::Doctype { position: end }),
                Event::Comment(_) => {}
                Event::Start(tag) => {
                    let element = self.open(&tag, start, end)?;
                    self.pending_ws = Cow::Borrowed("");
                    self.stack.push(element);
                }
                Event::Empty(tag) => {
                    let element = self.open(&tag, start, end)?;
                    self.pending_ws = Cow::Borrowed("");
                    self.scopes.pop(self.stack.len() + 1);
                    self.close(element);
                }
                Event::End(_) => {
                    // quick-xml checks that end tags match; an unmatched end is an
                    // error before we get here, so the stack cannot be empty.
                    self.scopes.pop(self.stack.len());
                    if let Some(mut element) = self.stack.pop() {
                        element.span.end = end;
                        // A leaf whose whole text is whitespace: that is its value.
                        let pending = std::mem::replace(&mut self.pending_ws, Cow::Borrowed(""));
                        if !pending.is_empty() {
                            element.text = pending;
                        }
                        self.close(element);
                    }
                }
                Event::Text(text) => {
                    let text = self.content(text.into_inner(), end)?;
                    self.text(text, end)?;
                }
                Event::CData(cdata) => {
                    // CDATA is never whitespace-only "formatting": refuse it outside the root.
                    if self.stack.is_empty() {
                        return Err(self.outside_root(end));
                    }
                    let text = self.content(cdata.into_inner(), end)?;
                    self.text(text, end)?;
                }
                Event::GeneralRef(reference) => {
                    let c = resolve_reference(&reference, end)?;
                    if self.stack.is_empty() {
                        return Err(self.outside_root(end));
                    }
                    self.text(Cow::Owned(c.to_string()), end)?;
                }
                Event::Eof => break,
            }
        }
        if !self.stack.is_empty() {
            return Err(EnvelopeError::Truncated {
                position: input_len,
            });
        }
        self.root.ok_or(EnvelopeError::Empty)
    }

    fn position(&self) -> usize {
        usize::try_from(self.reader.buffer_position())
            .unwrap_or(usize::MAX)
            .saturating_add(self.offset)
    }

    fn error_position(&self) -> usize {
        usize::try_from(self.reader.error_position())
            .unwrap_or(usize::MAX)
            .saturating_add(self.offset)
    }

    fn outside_root(&self, position: usize) -> EnvelopeError {
        if self.root.is_some() {
            EnvelopeError::ContentAfterEnvelope { position }
        } else {
            EnvelopeError::TextOutsideRoot { position }
        }
    }

    /// The `&str` of the validated input that `bytes` (a slice the reader handed
    /// out) occupies, found by address. The reader reads from a slice of the same
    /// input, so this succeeds for everything it borrows; `None` otherwise.
    fn borrow(&self, bytes: &[u8]) -> Option<&'i str> {
        let start = (bytes.as_ptr() as usize).checked_sub(self.input.as_ptr() as usize)?;
        let found = self.input.get(start..start.checked_add(bytes.len())?)?;
        std::ptr::eq(found.as_ptr(), bytes.as_ptr()).then_some(found)
    }

    /// Text or CDATA content as a string: borrowed from the input unless line
    /// ends need normalising (or the reader gave an owned copy).
    fn content(&self, raw: Cow<'i, [u8]>, end: usize) -> Result<Cow<'i, str>, EnvelopeError> {
        let text: Cow<'i, str> = match raw {
            Cow::Borrowed(bytes) => match self.borrow(bytes) {
                Some(text) => Cow::Borrowed(text),
                None => Cow::Owned(utf8(bytes, end)?.to_owned()),
            },
            Cow::Owned(bytes) => Cow::Owned(utf8(&bytes, end)?.to_owned()),
        };
        if !text.contains('\r') {
            return Ok(text);
        }
        // XML 1.0 §2.11: CR LF and lone CR become LF.
        Ok(Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n")))
    }

    fn close(&mut self, element: Element<'i>) {
        match self.stack.last_mut() {
            Some(parent) => parent.children.push(element),
            None => self.root = Some(element),
        }
    }

    fn text(&mut self, text: Cow<'i, str>, end: usize) -> Result<(), EnvelopeError> {
        check_chars(&text, end)?;
        let Some(current) = self.stack.last_mut() else {
            if is_xml_whitespace(&text) {
                return Ok(());
            }
            return Err(self.outside_root(end));
        };
        if current.text.len() + self.pending_ws.len() + text.len() > self.limits.max_text_len {
            return Err(EnvelopeError::TextTooLong {
                limit: self.limits.max_text_len,
                position: end,
            });
        }
        let whitespace = is_xml_whitespace(&text);
        if whitespace && !current.children.is_empty() {
            // Indentation after a child element.
            return Ok(());
        }
        if whitespace && current.text.is_empty() {
            append(&mut self.pending_ws, text);
            return Ok(());
        }
        let pending = std::mem::replace(&mut self.pending_ws, Cow::Borrowed(""));
        append(&mut current.text, pending);
        append(&mut current.text, text);
        Ok(())
    }
}

/// Appends, borrowing when `to` is still empty (the common single-chunk case).
fn append<'i>(to: &mut Cow<'i, str>, text: Cow<'i, str>) {
    if to.is_empty() {
        *to = text;
    } else if !text.is_empty() {
        to.to_mut().push_str(&text);
    }
}

fn utf8(bytes: &[u8], end: usize) -> Result<&str, EnvelopeError> {
    std::str::from_utf8(bytes).map_err(|_| EnvelopeError::InvalidUtf8 { position: end })
}
