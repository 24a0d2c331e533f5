//! Namespace URI interning for the tree builder.

use std::collections::HashMap;
use std::sync::Arc;

use quick_xml::name::ResolveResult;

// === impl Interner ===

/// One shared copy of each namespace URI.
///
/// Without it a document declaring one long namespace and holding 10,000 elements
/// in it would cost 10,000 copies: memory must stay linear in the input size
/// whatever the document looks like. (`Limits::max_namespace_len` bounds the
/// hashing work per element the same way.)
#[derive(Debug, Default)]
pub(crate) struct Interner {
    known: HashMap<Box<[u8]>, Arc<str>>,
}

impl Interner {
    /// The shared namespace of an element or attribute; `Err(prefix)` for an
    /// undeclared prefix.
    pub(crate) fn intern(
        &mut self,
        resolved: ResolveResult<'_>,
    ) -> Result<Option<Arc<str>>, Vec<u8>> {
        let bytes = match resolved {
            ResolveResult::Unbound => return Ok(None),
            ResolveResult::Bound(ns) => ns.into_inner(),
            ResolveResult::Unknown(prefix) => return Err(prefix),
        };
        if let Some(ns) = self.known.get(bytes) {
            return Ok(Some(Arc::clone(ns)));
        }
        let ns: Arc<str> = Arc::from(String::from_utf8_lossy(bytes));
        self.known.insert(bytes.into(), Arc::clone(&ns));
        Ok(Some(ns))
    }
}
