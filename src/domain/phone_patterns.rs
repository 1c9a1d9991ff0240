//! libphonenumber's patterns, each compiled once and kept. The `phonenumber` crate looks every
//! pattern up, by its text, in one cache of 100 compiled patterns behind one lock for the whole
//! world's metadata: a +1 number alone may try two dozen patterns, so traffic from a few
//! countries evicts and recompiles patterns on the request path, and every match hashes the
//! pattern's text and takes the lock. Here a pattern is found by where its text lives in the
//! crate's static metadata, in a sharded cache large enough for every pattern a deployment
//! meets.

use std::sync::{Arc, LazyLock};

use phonenumber::metadata::Descriptor;
use quick_cache::sync::Cache;
use regex::{Regex, RegexBuilder};

/// Patterns kept compiled: every region's general, line-type and leading-digits patterns of
/// the countries a deployment serves, with room to spare.
const CAPACITY: usize = 2_048;

static COMPILED: LazyLock<Cache<usize, Arc<Regex>>> = LazyLock::new(|| Cache::new(CAPACITY));

/// Whether `pattern` (a pattern of the static metadata) matches `text` from its first
/// character, as the crate's own matching does.
pub(super) fn matches_from_start(pattern: &'static str, text: &str) -> bool {
    // The address identifies the pattern: the metadata is loaded once and never moves.
    match COMPILED.get_or_insert_with(&(pattern.as_ptr() as usize), || compile(pattern)) {
        Ok(regex) => regex.find(text).is_some_and(|found| found.start() == 0),
        // Unreachable: the crate compiled the same text with the same options when it loaded
        // the metadata.
        Err(_) => false,
    }
}

/// Whether `national` has one of the descriptor's possible lengths and matches its pattern:
/// the crate's `Descriptor::is_match`.
pub(super) fn fits(descriptor: &'static Descriptor, national: &str) -> bool {
    let lengths = descriptor.possible_length();
    (lengths.is_empty() || lengths.contains(&(national.len() as u16)))
        && matches_from_start(descriptor.national_number().as_str(), national)
}

/// The options the crate compiles its metadata with.
fn compile(pattern: &str) -> Result<Arc<Regex>, regex::Error> {
    RegexBuilder::new(pattern)
        .ignore_whitespace(true)
        .build()
        .map(Arc::new)
}

#[cfg(test)]
mod tests {
    use phonenumber::Type;
    use phonenumber::metadata::DATABASE;

    use super::*;
    use crate::domain::phone::SPECIAL_TYPES;

    /// Every region's example numbers, matched against each of its patterns, get the crate's
    /// own answer: the same options, lengths and anchoring, for the whole world's metadata.
    #[test]
    fn matching_agrees_with_the_crate_on_every_regions_examples() {
        let mut compared = 0;
        for region in DATABASE.iter() {
            let descriptors = region.descriptors();
            let patterns: Vec<&'static Descriptor> = std::iter::once(descriptors.general())
                .chain(
                    [Type::Mobile, Type::FixedLine]
                        .into_iter()
                        .chain(SPECIAL_TYPES)
                        .filter_map(|kind| descriptors.get(kind)),
                )
                .collect();
            for example in patterns
                .iter()
                .filter_map(|descriptor| descriptor.example())
            {
                for descriptor in &patterns {
                    assert_eq!(
                        fits(descriptor, example),
                        descriptor.is_match(example),
                        "{} {example} against {}",
                        region.id(),
                        descriptor.national_number().as_str()
                    );
                    compared += 1;
                }
                if let Some(leading) = region.leading_digits() {
                    assert_eq!(
                        matches_from_start(leading.as_str(), example),
                        leading
                            .find(example)
                            .is_some_and(|found| found.start() == 0),
                        "{} {example} against its leading digits",
                        region.id()
                    );
                }
            }
        }
        assert!(compared > 5_000, "only {compared} comparisons");
    }
}
