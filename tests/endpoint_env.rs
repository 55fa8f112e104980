//! `TCSMS_ENDPOINT` from the environment. One test only: it sets a process environment
//! variable, which the other tests of a binary (threads of one process) would see.

use std::net::TcpListener;
use tcsms::{Client, Config, ErrorKind};

const CREDS: &str = r#""secret_id":"AKIDendpointenv","secret_key":"endpoint-env-secret""#;

#[test]
fn tcsms_endpoint_is_read_when_the_configuration_has_no_endpoint() {
    // A port with nothing listening (bound, then closed), so that a call fails at once.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let from_env = format!("http://127.0.0.1:{port}");
    let config = format!("{{{CREDS},\"max_retries\":0}}");

    std::env::remove_var("TCSMS_ENDPOINT");
    assert_eq!(Config::from_json(&config).unwrap().endpoint.url, "https://sms.intl.tencentcloudapi.com/");

    std::env::set_var("TCSMS_ENDPOINT", &from_env);
    assert_eq!(Config::from_json(&config).unwrap().endpoint.url, format!("{from_env}/"));
    // The client uses it: its error names the endpoint it tried.
    let e = Client::from_json(&config).unwrap().call("DescribeSmsSignList", "{}").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Network, "{}", e.message());
    assert!(e.message().contains(&format!("{from_env}/")), "{}", e.message());

    // Explicit configuration wins, `null` counting as absent.
    let explicit = format!("{{{CREDS},\"endpoint\":\"http://127.0.0.1:9\"}}");
    assert_eq!(Config::from_json(&explicit).unwrap().endpoint.url, "http://127.0.0.1:9/");
    let null = format!("{{{CREDS},\"endpoint\":null}}");
    assert_eq!(Config::from_json(&null).unwrap().endpoint.url, format!("{from_env}/"));

    // A bad value is refused naming the variable; an empty one counts as unset.
    std::env::set_var("TCSMS_ENDPOINT", "ftp://127.0.0.1:21");
    let e = Config::from_json(&config).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidConfig);
    assert!(e.message().starts_with("TCSMS_ENDPOINT") && e.message().contains("ftp://"), "{}", e.message());
    assert!(Config::from_json(&explicit).is_ok(), "explicit configuration does not read the variable");
    std::env::set_var("TCSMS_ENDPOINT", "");
    assert_eq!(Config::from_json(&config).unwrap().endpoint.url, "https://sms.intl.tencentcloudapi.com/");
    std::env::remove_var("TCSMS_ENDPOINT");
}
