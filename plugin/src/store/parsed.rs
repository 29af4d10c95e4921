//! Configuration records parsed once per instance. An instance may serve many calls (a host keeps
//! one for a stream of webhook deliveries). A record read again is compared byte for byte with
//! the bytes parsed before, and the earlier value is used only when they are equal: a change by
//! anyone (a configure call, another instance) shows on the next read. Only parsing is saved.

use crate::api::Result;
use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// Records kept at most; configuration is a handful of records per integration.
const KEPT: usize = 256;

type Kept = HashMap<(String, TypeId), (Vec<u8>, Box<dyn Any>)>;

thread_local! {
    static KEPT_VALUES: RefCell<Kept> = RefCell::new(HashMap::new());
}

/// The value of `key` parsed from `bytes`: the one parsed earlier from the same bytes (the same
/// `Rc`, so callers can tell an unchanged record by pointer), else `parse(bytes)`, kept when it
/// succeeds.
pub fn parsed<T: 'static>(
    key: &str,
    bytes: Vec<u8>,
    parse: impl FnOnce(&[u8]) -> Result<T>,
) -> Result<Rc<T>> {
    KEPT_VALUES.with(|cell| {
        let id = (key.to_string(), TypeId::of::<T>());
        if let Some((kept_bytes, value)) = cell.borrow().get(&id) {
            if same_bytes(kept_bytes, &bytes) {
                if let Some(value) = value.downcast_ref::<Rc<T>>() {
                    return Ok(value.clone());
                }
            }
        }
        let value = Rc::new(parse(&bytes)?);
        let mut kept = cell.borrow_mut();
        if kept.len() >= KEPT {
            kept.clear();
        }
        kept.insert(id, (bytes, Box::new(value.clone())));
        Ok(value)
    })
}

/// Byte equality eight bytes at a time (wasm's `memcmp` goes byte by byte).
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tails_equal = a8.remainder() == b8.remainder();
    tails_equal
        && a8.zip(b8).all(|(x, y)| {
            u64::from_ne_bytes(x.try_into().unwrap_or_default())
                == u64::from_ne_bytes(y.try_into().unwrap_or_default())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn a_value_is_reused_only_for_the_same_bytes() {
        let parses = Cell::new(0);
        let parse = |b: &[u8]| {
            parses.set(parses.get() + 1);
            Ok(String::from_utf8_lossy(b).into_owned())
        };
        let key = "test/a_value_is_reused_only_for_the_same_bytes";
        let first = parsed(key, b"one record".to_vec(), parse).unwrap();
        let again = parsed(key, b"one record".to_vec(), parse).unwrap();
        assert_eq!(*again, "one record");
        assert!(Rc::ptr_eq(&first, &again), "same bytes: the same value");
        assert_eq!(parses.get(), 1, "same bytes: parsed once");
        // Same length, one byte different (in the tail, then in the first eight).
        assert_eq!(
            *parsed(key, b"one recorD".to_vec(), parse).unwrap(),
            "one recorD"
        );
        assert_eq!(
            *parsed(key, b"One recorD".to_vec(), parse).unwrap(),
            "One recorD"
        );
        assert_eq!(parses.get(), 3, "other bytes: parsed again");
        // The same key read as another type is parsed for that type.
        let len = parsed(key, b"One recorD".to_vec(), |b: &[u8]| Ok(b.len())).unwrap();
        assert_eq!(*len, 10);
        assert_eq!(
            *parsed(key, b"One recorD".to_vec(), parse).unwrap(),
            "One recorD"
        );
        assert_eq!(parses.get(), 3);
    }

    #[test]
    fn a_failed_parse_is_not_kept() {
        let key = "test/a_failed_parse_is_not_kept";
        let failed: Result<Rc<u8>> = parsed(key, b"x".to_vec(), |_| {
            Err(crate::api::SyncError::Internal("unreadable".into()))
        });
        assert!(failed.is_err());
        assert_eq!(*parsed(key, b"x".to_vec(), |_| Ok(7u8)).unwrap(), 7);
    }
}
