//! DescribePhoneNumberInfo: country code, ISO code and subscriber number of each number.

use serde_json::{json, Map, Value};

use super::{fields, Ctx, Params};
use crate::service::envelope::ApiError;
use crate::service::phone;

pub fn describe_phone_number_info(_ctx: &mut Ctx, p: &Params) -> Result<Map<String, Value>, ApiError> {
    let numbers = p.strs("PhoneNumberSet");
    if numbers.is_empty() {
        return Err(ApiError::new("MissingParameter.EmptyPhoneNumberSet", "PhoneNumberSet is empty."));
    }
    if numbers.len() > 200 {
        return Err(ApiError::new(
            "LimitExceeded.PhoneNumberCountLimit",
            "PhoneNumberSet holds more than 200 numbers.",
        ));
    }
    let list: Vec<Value> = numbers
        .iter()
        .map(|n| match phone::parse_e164(n) {
            Some(ph) => json!({
                "Code": "Ok", "Message": "Describe success", "NationCode": ph.nation_code,
                "SubscriberNumber": ph.subscriber, "PhoneNumber": ph.e164,
                "IsoCode": ph.iso_code, "IsoName": ph.iso_name,
            }),
            None => json!({
                "Code": "InvalidParameterValue.IncorrectPhoneNumber", "Message": "incorrect phone number",
                "NationCode": "", "SubscriberNumber": "", "PhoneNumber": n, "IsoCode": "", "IsoName": "",
            }),
        })
        .collect();
    Ok(fields([("PhoneNumberInfoSet", Value::Array(list))]))
}
