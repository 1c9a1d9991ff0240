//! Phone numbers, normalised to E.164 by libphonenumber's metadata (the `phonenumber` crate).

use std::fmt;

use phonenumber::Metadata;
use phonenumber::Mode;
use phonenumber::metadata::DATABASE;

/// A valid phone number in E.164 form (`+447700900123`). Once a value is a `PhoneNumber`, it is valid.
#[derive(Debug, Clone)]
pub struct PhoneNumber {
    e164: String,
    parsed: phonenumber::PhoneNumber,
}

#[derive(Debug, thiserror::Error)]
#[error("not a valid phone number in international format")]
pub struct InvalidPhoneNumber;

impl PhoneNumber {
    /// Accepts international numbers with a leading `+`; spaces, dashes, dots and parentheses
    /// are tolerated, letters and anything else are not (docs/contract-notes.md, "Phone numbers").
    pub fn parse(input: &str) -> Result<Self, InvalidPhoneNumber> {
        let compact: String = input
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
            .collect();
        let digits = compact.strip_prefix('+').ok_or(InvalidPhoneNumber)?;
        if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidPhoneNumber);
        }
        let parsed = phonenumber::parse(None, &compact).map_err(|_| InvalidPhoneNumber)?;
        if !is_plausible(&parsed) {
            return Err(InvalidPhoneNumber);
        }
        let e164 = parsed.format().mode(Mode::E164).to_string();
        Ok(Self { e164, parsed })
    }

    pub fn as_str(&self) -> &str {
        &self.e164
    }

    /// ISO 3166 alpha-2 region of the number, when the metadata knows one.
    pub fn country(&self) -> Option<String> {
        region_metadata(&self.parsed).map(|metadata| metadata.id().to_owned())
    }

    /// The country calling code (`44` for `+44…`).
    pub fn calling_code(&self) -> u16 {
        self.parsed.code().value()
    }

    /// The line type by libphonenumber's metadata (`Unknown` for reserved or unassigned ranges).
    pub fn number_type(&self) -> phonenumber::Type {
        self.parsed.number_type(&DATABASE)
    }
}

/// The number fits its region's numbering plan: a known calling code, a possible length and the
/// region's general number pattern. This is deliberately wider than "assigned to a line type":
/// ranges reserved for drama and testing (`+44 7700 900xxx`) are accepted, while malformed,
/// too short or too long numbers and unknown calling codes are not.
fn is_plausible(number: &phonenumber::PhoneNumber) -> bool {
    let national = number.national().value().to_string();
    region_metadata(number)
        .is_some_and(|metadata| metadata.descriptors().general().is_match(&national))
}

/// The metadata of the number's region; for a calling code shared by several regions (+44, +1)
/// and a number in none of their assigned ranges, the code's main region.
fn region_metadata(number: &phonenumber::PhoneNumber) -> Option<&'static Metadata> {
    number.metadata(&DATABASE).or_else(|| {
        let regions = DATABASE.by_code(&number.code().value())?;
        regions
            .iter()
            .find(|metadata| metadata.is_main_country_for_code())
            .or(regions.first())
            .copied()
    })
}

impl PartialEq for PhoneNumber {
    fn eq(&self, other: &Self) -> bool {
        self.e164 == other.e164
    }
}

impl Eq for PhoneNumber {}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.e164)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn punctuation_is_tolerated_and_normalised() {
        for input in [
            "+44 7700 900123",
            "+44-7700-900123",
            "+44.7700.900123",
            "+44 (7700) 900123",
            " +447700900123 ",
        ] {
            assert_eq!(PhoneNumber::parse(input).unwrap().as_str(), "+447700900123");
        }
    }

    #[test]
    fn invalid_numbers_are_refused() {
        for input in [
            "",
            "+",
            "07700900123",
            "+44 7700 90012a",
            "+44 1",
            "+999 123456789",
            "+447700900123+",
            "+44 20 7946 09",
            "+1 (555) 000-0000 ext 5",
            "+4477009001231234567",
        ] {
            assert!(PhoneNumber::parse(input).is_err(), "{input:?} was accepted");
        }
    }

    #[test]
    fn country_and_calling_code_are_known() {
        let number = PhoneNumber::parse("+1 415 555 2671").unwrap();
        assert_eq!(number.country().as_deref(), Some("US"));
        assert_eq!(number.calling_code(), 1);
        let drama = PhoneNumber::parse("+44 7700 900123").unwrap();
        assert_eq!(drama.country().as_deref(), Some("GB"));
        assert_eq!(drama.calling_code(), 44);
    }
}
