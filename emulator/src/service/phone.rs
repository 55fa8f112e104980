//! Phone numbers: E.164 parsing, the mainland-China short forms SendSms accepts, and the
//! country-code table behind IsoCode / DescribePhoneNumberInfo.

/// A parsed number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    /// `+` country code subscriber number.
    pub e164: String,
    pub nation_code: &'static str,
    pub subscriber: String,
    pub iso_code: &'static str,
    pub iso_name: &'static str,
}

impl Phone {
    /// Chinese mainland (+86); Hong Kong, Macao and Taiwan count as international.
    pub fn is_mainland(&self) -> bool {
        self.nation_code == "86"
    }
}

/// (country calling code, ISO 3166 alpha-2, English name). Shared codes (+1, +7, ...)
/// name their largest member.
const COUNTRIES: &[(&str, &str, &str)] = &[
    ("1", "US", "United States"),
    ("7", "RU", "Russia"),
    ("20", "EG", "Egypt"),
    ("27", "ZA", "South Africa"),
    ("30", "GR", "Greece"),
    ("31", "NL", "Netherlands"),
    ("32", "BE", "Belgium"),
    ("33", "FR", "France"),
    ("34", "ES", "Spain"),
    ("36", "HU", "Hungary"),
    ("39", "IT", "Italy"),
    ("40", "RO", "Romania"),
    ("41", "CH", "Switzerland"),
    ("43", "AT", "Austria"),
    ("44", "GB", "United Kingdom"),
    ("45", "DK", "Denmark"),
    ("46", "SE", "Sweden"),
    ("47", "NO", "Norway"),
    ("48", "PL", "Poland"),
    ("49", "DE", "Germany"),
    ("51", "PE", "Peru"),
    ("52", "MX", "Mexico"),
    ("53", "CU", "Cuba"),
    ("54", "AR", "Argentina"),
    ("55", "BR", "Brazil"),
    ("56", "CL", "Chile"),
    ("57", "CO", "Colombia"),
    ("58", "VE", "Venezuela"),
    ("60", "MY", "Malaysia"),
    ("61", "AU", "Australia"),
    ("62", "ID", "Indonesia"),
    ("63", "PH", "Philippines"),
    ("64", "NZ", "New Zealand"),
    ("65", "SG", "Singapore"),
    ("66", "TH", "Thailand"),
    ("81", "JP", "Japan"),
    ("82", "KR", "South Korea"),
    ("84", "VN", "Vietnam"),
    ("86", "CN", "China"),
    ("90", "TR", "Turkey"),
    ("91", "IN", "India"),
    ("92", "PK", "Pakistan"),
    ("93", "AF", "Afghanistan"),
    ("94", "LK", "Sri Lanka"),
    ("95", "MM", "Myanmar"),
    ("98", "IR", "Iran"),
    ("211", "SS", "South Sudan"),
    ("212", "MA", "Morocco"),
    ("213", "DZ", "Algeria"),
    ("216", "TN", "Tunisia"),
    ("218", "LY", "Libya"),
    ("220", "GM", "Gambia"),
    ("221", "SN", "Senegal"),
    ("225", "CI", "Cote d'Ivoire"),
    ("233", "GH", "Ghana"),
    ("234", "NG", "Nigeria"),
    ("237", "CM", "Cameroon"),
    ("244", "AO", "Angola"),
    ("249", "SD", "Sudan"),
    ("250", "RW", "Rwanda"),
    ("251", "ET", "Ethiopia"),
    ("254", "KE", "Kenya"),
    ("255", "TZ", "Tanzania"),
    ("256", "UG", "Uganda"),
    ("260", "ZM", "Zambia"),
    ("263", "ZW", "Zimbabwe"),
    ("351", "PT", "Portugal"),
    ("352", "LU", "Luxembourg"),
    ("353", "IE", "Ireland"),
    ("354", "IS", "Iceland"),
    ("358", "FI", "Finland"),
    ("359", "BG", "Bulgaria"),
    ("370", "LT", "Lithuania"),
    ("371", "LV", "Latvia"),
    ("372", "EE", "Estonia"),
    ("380", "UA", "Ukraine"),
    ("381", "RS", "Serbia"),
    ("385", "HR", "Croatia"),
    ("386", "SI", "Slovenia"),
    ("420", "CZ", "Czech Republic"),
    ("421", "SK", "Slovakia"),
    ("852", "HK", "Hong Kong, China"),
    ("853", "MO", "Macao, China"),
    ("855", "KH", "Cambodia"),
    ("856", "LA", "Laos"),
    ("880", "BD", "Bangladesh"),
    ("886", "TW", "Taiwan, China"),
    ("960", "MV", "Maldives"),
    ("961", "LB", "Lebanon"),
    ("962", "JO", "Jordan"),
    ("963", "SY", "Syria"),
    ("964", "IQ", "Iraq"),
    ("965", "KW", "Kuwait"),
    ("966", "SA", "Saudi Arabia"),
    ("967", "YE", "Yemen"),
    ("968", "OM", "Oman"),
    ("970", "PS", "Palestine"),
    ("971", "AE", "United Arab Emirates"),
    ("972", "IL", "Israel"),
    ("973", "BH", "Bahrain"),
    ("974", "QA", "Qatar"),
    ("975", "BT", "Bhutan"),
    ("976", "MN", "Mongolia"),
    ("977", "NP", "Nepal"),
    ("992", "TJ", "Tajikistan"),
    ("993", "TM", "Turkmenistan"),
    ("994", "AZ", "Azerbaijan"),
    ("995", "GE", "Georgia"),
    ("996", "KG", "Kyrgyzstan"),
    ("998", "UZ", "Uzbekistan"),
];

/// Looks up the country of an E.164 digit string (without `+`) by its longest code prefix.
fn country(digits: &str) -> Option<(&'static str, &'static str, &'static str)> {
    (1..=3)
        .rev()
        .filter(|&n| digits.len() > n)
        .find_map(|n| COUNTRIES.iter().find(|(code, _, _)| *code == &digits[..n]).copied())
}

/// Parses a strict E.164 number: `+`, a known country code, 15 digits at most in all.
/// Mainland numbers (+86) must be 11 digits starting with 1.
pub fn parse_e164(input: &str) -> Option<Phone> {
    let digits = input.strip_prefix('+')?;
    if !(8..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (code, iso, name) = country(digits)?;
    let subscriber = &digits[code.len()..];
    if code == "86" && (subscriber.len() != 11 || !subscriber.starts_with('1')) {
        return None;
    }
    if subscriber.len() < 4 {
        return None;
    }
    Some(Phone {
        e164: input.to_owned(),
        nation_code: code,
        subscriber: subscriber.to_owned(),
        iso_code: iso,
        iso_name: name,
    })
}

/// Parses what SendSms accepts: E.164, or a mainland number written `0086…`, `86…` or as
/// the bare 11 digits.
pub fn parse_send_target(input: &str) -> Option<Phone> {
    if input.starts_with('+') {
        return parse_e164(input);
    }
    if !input.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let national = if input.len() == 11 {
        input
    } else if let Some(rest) = input.strip_prefix("0086") {
        rest
    } else {
        input.strip_prefix("86")?
    };
    parse_e164(&format!("+86{national}")).filter(Phone::is_mainland)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_numbers() {
        let p = parse_e164("+8618501234444").unwrap();
        assert_eq!((p.nation_code, p.subscriber.as_str(), p.iso_code), ("86", "18501234444", "CN"));
        assert!(p.is_mainland());
        let p = parse_e164("+60198123000").unwrap();
        assert_eq!((p.nation_code, p.iso_code, p.is_mainland()), ("60", "MY", false));
        assert_eq!(parse_e164("+85261234567").unwrap().iso_code, "HK");
        assert_eq!(parse_e164("+12025550123").unwrap().iso_code, "US");
        for bad in [
            "8618501234444",
            "+86185012344",
            "+8628501234444",
            "+60198***000",
            "+",
            "+999123456789",
            "+1234567890123456",
        ] {
            assert_eq!(parse_e164(bad), None, "{bad}");
        }
    }

    #[test]
    fn mainland_short_forms() {
        for ok in ["+8618501234444", "008618501234444", "8618501234444", "18501234444"] {
            assert_eq!(parse_send_target(ok).unwrap().e164, "+8618501234444", "{ok}");
        }
        for bad in ["0018501234444", "1850123444", "abc", "0060198123000"] {
            assert_eq!(parse_send_target(bad), None, "{bad}");
        }
    }
}
