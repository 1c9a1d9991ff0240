//! Phone numbers, normalised to E.164 by libphonenumber's metadata (the `phonenumber` crate).
//!
//! One parser for every path a number comes in by (logins, admin API, imports, CLI, console):
//! two spellings of one number always give the same string, so caps, locks, identities and the
//! one-active-employee rule all see one number.

use std::fmt;

use phonenumber::metadata::DATABASE;
use phonenumber::{Metadata, Type};

use super::phone_patterns::{fits, matches_from_start};

/// A valid phone number in E.164 form (`+447700900123`). Once a value is a `PhoneNumber`, it is valid.
#[derive(Clone)]
pub struct PhoneNumber {
    e164: String,
    calling_code: u16,
    /// Where the national significant number begins in `e164`.
    national_at: usize,
    /// The plan the number fits: its region and its line types' patterns. The line type is
    /// read from it only when asked (screening a start): most paths that parse a number
    /// never need it, and it costs a dozen pattern matches.
    plan: &'static Metadata,
}

#[derive(Debug, thiserror::Error)]
#[error("not a valid phone number in international format")]
pub struct InvalidPhoneNumber;

impl PhoneNumber {
    /// Accepts international numbers with a leading `+`; spaces, dashes, dots and parentheses
    /// are tolerated, letters and anything else are not. The national significant number keeps
    /// its leading zeros where the plan has them (Italy, Côte d'Ivoire); one national trunk
    /// prefix written after the calling code (`+44 (0)20…`) is dropped when the number only fits
    /// the plan without it (docs/contract-notes.md, "Phone numbers").
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
        let (calling_code, regions, national) = split_calling_code(digits)?;
        let (region, national) = fit(&regions, national)
            .or_else(|| {
                let prefix = regions.iter().find_map(|region| region.national_prefix())?;
                fit(&regions, national.strip_prefix(prefix)?)
            })
            .ok_or(InvalidPhoneNumber)?;
        let e164 = format!("+{calling_code}{national}");
        Ok(Self {
            national_at: e164.len() - national.len(),
            e164,
            calling_code,
            plan: region,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.e164
    }

    /// ISO 3166 alpha-2 region of the number (`001` for non-geographic entities).
    pub fn country(&self) -> Option<String> {
        Some(self.plan.id().to_owned())
    }

    /// The country calling code (`44` for `+44…`).
    pub fn calling_code(&self) -> u16 {
        self.calling_code
    }

    /// The line type by libphonenumber's metadata (`Unknown` for reserved or unassigned ranges).
    pub fn number_type(&self) -> Type {
        line_type(self.plan, &self.e164[self.national_at..])
    }
}

/// The calling code (calling codes are prefix-free: at most one of the first one to three
/// digits is one), the regions that share it, and the national significant number.
fn split_calling_code(
    digits: &str,
) -> Result<(u16, Vec<&'static Metadata>, &str), InvalidPhoneNumber> {
    (1..=3)
        .find_map(|length| {
            let code: u16 = digits.get(..length)?.parse().ok()?;
            let regions = DATABASE.by_code(&code)?;
            Some((code, regions, &digits[length..]))
        })
        .ok_or(InvalidPhoneNumber)
}

/// The region whose numbering plan `national` fits (its possible lengths and general
/// pattern), leading zeros included. This is deliberately wider than "assigned to a line
/// type": ranges reserved for drama and testing (`+44 7700 900xxx`) fit, while malformed,
/// too short or too long numbers do not. For a calling code shared by several regions
/// (+44, +1), a number in none of their assigned ranges belongs to the code's main region.
fn fit<'a>(
    regions: &[&'static Metadata],
    national: &'a str,
) -> Option<(&'static Metadata, &'a str)> {
    let region = match regions {
        [only] => *only,
        _ => regions
            .iter()
            .find(|region| match region.leading_digits() {
                Some(pattern) => matches_from_start(pattern.as_str(), national),
                None => has_line_type(region, national),
            })
            .or_else(|| {
                regions
                    .iter()
                    .find(|region| region.is_main_country_for_code())
            })
            .or(regions.first())
            .copied()?,
    };
    fits(region.descriptors().general(), national).then_some((region, national))
}

/// The line types libphonenumber tries before fixed line and mobile, in its order.
pub(super) const SPECIAL_TYPES: [Type; 8] = [
    Type::PremiumRate,
    Type::TollFree,
    Type::SharedCost,
    Type::Voip,
    Type::PersonalNumber,
    Type::Pager,
    Type::Uan,
    Type::Voicemail,
];

/// Whether [`line_type`] is other than `Unknown`, with the commonest types tried first and
/// the first match ending the search: a mobile number costs two pattern matches, not eleven.
fn has_line_type(region: &'static Metadata, national: &str) -> bool {
    let descriptors = region.descriptors();
    fits(descriptors.general(), national)
        && [Type::Mobile, Type::FixedLine]
            .into_iter()
            .chain(SPECIAL_TYPES)
            .any(|kind| {
                descriptors
                    .get(kind)
                    .is_some_and(|descriptor| fits(descriptor, national))
            })
}

/// libphonenumber's classification of a national significant number. The crate's own
/// `PhoneNumber::number_type` drops the number's leading zeros first, which misclassifies
/// Italian and Ivorian numbers, so the same order of checks is applied to the whole number.
fn line_type(region: &'static Metadata, national: &str) -> Type {
    let descriptors = region.descriptors();
    let matches = |kind| {
        descriptors
            .get(kind)
            .is_some_and(|descriptor| fits(descriptor, national))
    };
    if !fits(descriptors.general(), national) {
        return Type::Unknown;
    }
    if let Some(kind) = SPECIAL_TYPES.into_iter().find(|kind| matches(*kind)) {
        return kind;
    }
    match (matches(Type::FixedLine), matches(Type::Mobile)) {
        (true, true) => Type::FixedLineOrMobile,
        (true, false) => Type::FixedLine,
        (false, true) => Type::Mobile,
        (false, false) => Type::Unknown,
    }
}

impl PartialEq for PhoneNumber {
    fn eq(&self, other: &Self) -> bool {
        self.e164 == other.e164
    }
}

impl Eq for PhoneNumber {}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PhoneNumber").field(&self.e164).finish()
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.e164)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

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

    /// Real numbers as people write them, from several plans: each accepted spelling gives
    /// its one E.164 form, and what fits no plan is refused.
    #[test]
    fn real_formats_give_one_e164_or_are_refused() {
        let table: &[(&str, Option<&str>)] = &[
            // United Kingdom: the trunk 0 written after the calling code is dropped once.
            ("+44 7700 900123", Some("+447700900123")),
            ("+44 0 7700 900123", Some("+447700900123")),
            ("+44 (0)7700 900123", Some("+447700900123")),
            ("+44 000 7700 900123", None),
            ("+44 00 7700 900123", None),
            ("+44 20 7946 0958", Some("+442079460958")),
            ("+44 (0)20 7946 0958", Some("+442079460958")),
            ("+44 7911 123456", Some("+447911123456")),
            ("+44 (0) 7911 123456", Some("+447911123456")),
            // Italy: the leading 0 of fixed lines is part of the number.
            ("+39 06 6982 1234", Some("+390669821234")),
            ("+39 02 1234 5678", Some("+390212345678")),
            ("+39 312 345 6789", Some("+393123456789")),
            // Côte d'Ivoire: ten digits since 2021, mobiles start with 0.
            ("+225 07 01 23 45 67", Some("+2250701234567")),
            ("+225 05 01 23 45 67", Some("+2250501234567")),
            ("+225 27 22 44 55 66", Some("+2252722445566")),
            ("+225 01 23 45 67", None),
            // North America.
            ("+1 (201) 555-0123", Some("+12015550123")),
            ("+1 415 555 2671", Some("+14155552671")),
            ("+1 604 555 5555", Some("+16045555555")),
            ("+1 012 345 6789", None),
            // France, Germany, the Netherlands, Spain, Switzerland.
            ("+33 1 23 45 67 89", Some("+33123456789")),
            ("+33 (0)6 12 34 56 78", Some("+33612345678")),
            ("+33 12 34", None),
            ("+49 30 123456", Some("+4930123456")),
            ("+49 (0)30 123456", Some("+4930123456")),
            ("+49 151 23456789", Some("+4915123456789")),
            ("+31 6 12345678", Some("+31612345678")),
            ("+31 (0)6 12345678", Some("+31612345678")),
            ("+34 612 34 56 78", Some("+34612345678")),
            ("+41 44 668 18 00", Some("+41446681800")),
            // Elsewhere.
            ("+61 4 1234 5678", Some("+61412345678")),
            ("+61 (0)4 1234 5678", Some("+61412345678")),
            ("+81 90-1234-5678", Some("+819012345678")),
            ("+81 (0)90 1234 5678", Some("+819012345678")),
            ("+91 98765 43210", Some("+919876543210")),
            ("+55 11 91234-5678", Some("+5511912345678")),
            ("+234 802 123 4567", Some("+2348021234567")),
            ("+27 82 123 4567", Some("+27821234567")),
            ("+65 6123 4567", Some("+6561234567")),
            ("+0 123 4567", None),
            ("+999 123456789", None),
        ];
        let mut wrong = Vec::new();
        for (input, expected) in table {
            let got = PhoneNumber::parse(input)
                .ok()
                .map(|n| n.as_str().to_owned());
            if got.as_deref() != *expected {
                wrong.push(format!("{input:?}: {got:?}, expected {expected:?}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn leading_zeros_count_for_the_line_type() {
        let ivorian = PhoneNumber::parse("+225 07 01 23 45 67").unwrap();
        assert_eq!(ivorian.country().as_deref(), Some("CI"));
        assert_eq!(ivorian.number_type(), Type::Mobile);
        let roman = PhoneNumber::parse("+39 02 1234 5678").unwrap();
        assert_eq!(roman.country().as_deref(), Some("IT"));
        assert_eq!(roman.number_type(), Type::FixedLine);
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

    /// Digits after a real calling code, with zeros and punctuation where people put them:
    /// enough of these fit a plan for the properties below to be exercised.
    fn spelling() -> impl Strategy<Value = String> {
        let codes = prop::sample::select(vec![
            "1", "7", "27", "31", "33", "34", "39", "41", "44", "49", "55", "61", "65", "81", "91",
            "225", "234", "378", "800",
        ]);
        let separators = prop::sample::select(vec!["", " ", "-", ".", " (0)", "(", ") "]);
        (
            codes,
            0..4usize,
            prop::collection::vec(("[0-9]{1,4}", separators), 1..5),
        )
            .prop_map(|(code, zeros, groups)| {
                let mut spelling = format!("+{code} {}", "0".repeat(zeros));
                for (digits, separator) in groups {
                    spelling.push_str(&digits);
                    spelling.push_str(separator);
                }
                spelling
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5_000))]

        /// The quick test by which `fit` picks a region among those sharing a calling code
        /// agrees with the full classification.
        #[test]
        fn has_line_type_agrees_with_line_type(
            national in "[0-9]{5,12}",
            code in prop::sample::select(vec![1u16, 7, 44, 47, 61, 262, 590]),
        ) {
            for region in DATABASE.by_code(&code).unwrap_or_default() {
                prop_assert_eq!(
                    has_line_type(region, &national),
                    line_type(region, &national) != Type::Unknown,
                    "{} {}", region.id(), national
                );
            }
        }

        /// Parsing an accepted number's E.164 form again gives the same E.164.
        #[test]
        fn e164_is_a_fixed_point(input in spelling()) {
            if let Ok(number) = PhoneNumber::parse(&input) {
                let again = PhoneNumber::parse(number.as_str());
                prop_assert_eq!(again.map(|n| n.as_str().to_owned()).ok(), Some(number.as_str().to_owned()), "{:?}", input);
            }
        }
    }
}
