//! Which numbers may be sent a code at all (`POST /v1/otp/start`): the country
//! allow-list, and line types that cannot receive a code or that cost us per message or call
//! (SMS pumping and toll fraud go through premium-rate and shared-cost ranges, satellite and
//! other non-geographic networks, and ranges too new or too odd for the metadata to know).

use phonenumber::Type;

use crate::config::LimitsConfig;
use crate::domain::PhoneNumber;
use crate::error::Error;
use crate::sms::Channel;

/// The region libphonenumber gives numbers of non-geographic entities (`+800`, `+808`,
/// `+870`, `+881`–`+883`, `+888`, `+979`): satellite phones, international networks and freephone.
const NON_GEOGRAPHIC: &str = "001";

/// Ofcom's range reserved for drama and documentation (`+44 7700 900000`–`900999`): never
/// assigned to a line, so the metadata gives it no type, yet it is the range Sesame's own
/// examples and test numbers use, and a message to it cannot earn anybody a share.
const DRAMA_RANGE: &str = "+447700900";

/// The refusal (with its metric label) when `number` may not be sent a code on `channel`.
pub fn screen(
    number: &PhoneNumber,
    channel: Channel,
    limits: &LimitsConfig,
) -> Option<(&'static str, Error)> {
    let allowed = &limits.allowed_countries;
    if !allowed.is_empty()
        && !number
            .country()
            .is_some_and(|country| allowed.contains(&country))
    {
        return Some(("country_not_allowed", Error::CountryNotAllowed));
    }
    let line = number.number_type();
    if !limits.allow_unknown_line_types && unlisted(number, line) {
        return Some(("line_type", Error::InvalidPhoneNumber));
    }
    if !line_type_accepted(line, channel) {
        return Some(("line_type", Error::InvalidPhoneNumber));
    }
    None
}

/// A number of a non-geographic entity, or one in a range the metadata does not assign to
/// any line type (except the drama range); `line` is its line type.
fn unlisted(number: &PhoneNumber, line: Type) -> bool {
    let unknown = line == Type::Unknown
        && !(number.as_str().starts_with(DRAMA_RANGE) && number.as_str().len() == 13);
    unknown || number.country().as_deref() == Some(NON_GEOGRAPHIC)
}

/// Types the metadata knows to be unfit are refused; `FixedLineOrMobile` (the US, where the
/// two cannot be told apart) is accepted, and so is `Unknown` here (whether an unlisted
/// number may be sent to at all is [`unlisted`]'s decision). Voice may also call fixed lines
/// and the other ordinary ranges.
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
    use std::collections::HashMap;

    use super::*;
    use crate::config::Config;

    fn limits(vars: &[(&str, &str)]) -> LimitsConfig {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        Config::from_vars(&vars).unwrap().limits
    }

    fn screened_with(
        number: &str,
        channel: Channel,
        vars: &[(&str, &str)],
    ) -> Option<&'static str> {
        let number = PhoneNumber::parse(number).unwrap();
        screen(&number, channel, &limits(vars)).map(|(limit, _)| limit)
    }

    fn screened(number: &str, channel: Channel, allowed: &[&str]) -> Option<&'static str> {
        let allowed = allowed.join(",");
        screened_with(number, channel, &[("SESAME_ALLOWED_COUNTRIES", &allowed)])
    }

    #[test]
    fn non_geographic_and_unassigned_ranges_are_refused_unless_allowed() {
        // Iridium (satellite), an international network, and UK and German ranges assigned to
        // no line type.
        let unlisted = [
            "+881631234567",
            "+882345678901",
            "+441000123456",
            "+491212345678",
        ];
        assert_eq!(number_type("+441000123456"), Type::Unknown);
        assert_eq!(number_type("+881631234567"), Type::Mobile);
        for number in unlisted {
            assert_eq!(
                screened(number, Channel::Sms, &[]),
                Some("line_type"),
                "{number}"
            );
            let allowed = [("SESAME_SMS_ALLOW_UNKNOWN_LINE_TYPES", "true")];
            assert_eq!(
                screened_with(number, Channel::Sms, &allowed),
                None,
                "{number}"
            );
        }
    }

    #[test]
    fn only_the_drama_range_itself_is_exempt() {
        assert_eq!(screened("+447700900999", Channel::Sms, &[]), None);
        assert_eq!(number_type("+447700901000"), Type::Unknown);
        assert_eq!(
            screened("+447700901000", Channel::Sms, &[]),
            Some("line_type")
        );
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
