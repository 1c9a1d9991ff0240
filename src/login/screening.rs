//! Which numbers may be sent a code at all (`POST /v1/otp/start`): the country
//! allow-list, and line types that cannot receive a code or that cost us per message or call
//! (SMS pumping and toll fraud go through premium-rate and shared-cost ranges).

use phonenumber::Type;

use crate::domain::PhoneNumber;
use crate::error::Error;
use crate::sms::Channel;

/// The refusal (with its metric label) when `number` may not be sent a code on `channel`.
pub fn screen(
    number: &PhoneNumber,
    channel: Channel,
    allowed_countries: &[String],
) -> Option<(&'static str, Error)> {
    if !allowed_countries.is_empty()
        && !number
            .country()
            .is_some_and(|country| allowed_countries.contains(&country))
    {
        return Some(("country_not_allowed", Error::CountryNotAllowed));
    }
    if !line_type_accepted(number.number_type(), channel) {
        return Some(("line_type", Error::InvalidPhoneNumber));
    }
    None
}

/// Only types the metadata knows to be unfit are refused: `Unknown` (reserved and test
/// ranges such as `+44 7700 900xxx`) and `FixedLineOrMobile` (the US, where the two cannot be
/// told apart) are accepted. Voice may also call fixed lines and the other ordinary ranges.
fn line_type_accepted(line: Type, channel: Channel) -> bool {
    let mobile_like = matches!(
        line,
        Type::Mobile | Type::FixedLineOrMobile | Type::Voip | Type::Unknown
    );
    match channel {
        Channel::Sms => mobile_like,
        Channel::Voice => {
            mobile_like
                || matches!(
                    line,
                    Type::FixedLine | Type::TollFree | Type::StandardRate | Type::Uan
                )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn screened(number: &str, channel: Channel, allowed: &[&str]) -> Option<&'static str> {
        let number = PhoneNumber::parse(number).unwrap();
        let allowed: Vec<String> = allowed.iter().map(|c| c.to_string()).collect();
        screen(&number, channel, &allowed).map(|(limit, _)| limit)
    }

    #[test]
    fn reserved_ranges_and_mobiles_are_accepted_for_sms() {
        assert_eq!(number_type("+447700900123"), Type::Unknown);
        for number in ["+447700900123", "+447400123456", "+12015550123"] {
            assert_eq!(screened(number, Channel::Sms, &[]), None, "{number}");
        }
    }

    #[test]
    fn premium_rate_and_fixed_lines_are_refused_for_sms() {
        assert_eq!(number_type("+449098790000"), Type::PremiumRate);
        assert_eq!(number_type("+442070313000"), Type::FixedLine);
        assert_eq!(number_type("+448001234567"), Type::TollFree);
        for number in ["+449098790000", "+442070313000", "+448001234567"] {
            assert_eq!(
                screened(number, Channel::Sms, &[]),
                Some("line_type"),
                "{number}"
            );
        }
    }

    #[test]
    fn voice_may_call_fixed_lines_but_never_premium_rate() {
        assert_eq!(screened("+442070313000", Channel::Voice, &[]), None);
        assert_eq!(
            screened("+449098790000", Channel::Voice, &[]),
            Some("line_type")
        );
    }

    #[test]
    fn countries_outside_the_allow_list_are_refused() {
        assert_eq!(screened("+447700900123", Channel::Sms, &["GB", "US"]), None);
        assert_eq!(
            screened("+12015550123", Channel::Sms, &["GB"]),
            Some("country_not_allowed")
        );
    }

    fn number_type(number: &str) -> Type {
        PhoneNumber::parse(number).unwrap().number_type()
    }
}
