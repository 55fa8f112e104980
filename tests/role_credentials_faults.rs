//! Role credential sources against small hostile servers on 127.0.0.1: a metadata
//! service or STS that refuses connections, hangs, answers garbage or refuses the
//! request. Every failure is bounded in time, named, and never shows a secret.
//! (The end-to-end runs against the emulator are in tests/role_credentials.rs.)

use std::io::Write;
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tcsms::{Client, ErrorKind};

#[path = "support/hostile.rs"]
mod hostile;
use hostile::{answer_and_close, read_request, until_hangup, Hostile};

const NOTHING_LISTENS: &str = "http://127.0.0.1:1";

fn answer(status: &str, content_type: &str, body: &str) -> Vec<u8> {
    format!("HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}", body.len())
        .into_bytes()
}

fn client(extra: &str) -> Client {
    let config = format!(
        r#"{{"endpoint":"{NOTHING_LISTENS}","timeout_ms":10000,"max_retries":0,"rate_limits":{{"*":0}}{extra}}}"#
    );
    Client::from_json(&config).unwrap()
}

fn events(client: &Client) -> Arc<Mutex<Vec<String>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    client.set_event_callback(Some(Box::new(move |e: &str| sink.lock().unwrap().push(e.to_owned()))));
    seen
}

fn call(client: &Client) -> Result<String, tcsms::Error> {
    client.call("DescribeSmsSignList", r#"{"International":0,"SignIdSet":[1]}"#)
}

#[test]
fn a_machine_without_a_metadata_service_fails_fast_with_a_named_error() {
    let client = client(&format!(r#","credential_source":"cvm_role","metadata_endpoint":"{NOTHING_LISTENS}""#));
    let started = Instant::now();
    let e = call(&client).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    assert_eq!((e.kind(), e.code()), (ErrorKind::Network, "ClientError.CredentialsUnavailable"));
    for needle in ["cvm_role", "metadata service http://127.0.0.1:1/", "not sent"] {
        assert!(e.message().contains(needle), "{needle}: {}", e.message());
    }
}

#[test]
fn a_hanging_metadata_service_costs_about_three_seconds_not_the_call_limit() {
    let server = Hostile::start(|mut s| until_hangup(&mut s));
    let client = client(&format!(r#","credential_source":"cvm_role","metadata_endpoint":"{}""#, server.url()));
    let seen = events(&client);
    let started = Instant::now();
    let e = call(&client).unwrap_err();
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(2500) && took < Duration::from_millis(4500), "{took:?}");
    assert_eq!(e.code(), "ClientError.CredentialsUnavailable");
    assert!(e.message().contains("no answer within 3000 ms"), "{}", e.message());
    // Backing off: the next call fails at once with the same reason, without a new fetch.
    let connections = server.connections();
    let started = Instant::now();
    let again = call(&client).unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(200), "{:?}", started.elapsed());
    assert_eq!(again.code(), "ClientError.CredentialsUnavailable");
    assert_eq!(server.connections(), connections);
    let events = seen.lock().unwrap();
    let credentials: Vec<_> = events.iter().filter(|e| e.contains(r#""event":"credentials""#)).collect();
    assert_eq!(credentials.len(), 1, "{events:?}");
    assert!(credentials[0].contains(r#""outcome":"failed""#) && credentials[0].contains(r#""source":"cvm_role""#));
}

#[test]
fn a_call_with_a_shorter_time_limit_waits_only_that_long() {
    let server = Hostile::start(|mut s| until_hangup(&mut s));
    let client = client(&format!(r#","credential_source":"cvm_role","metadata_endpoint":"{}""#, server.url()));
    let started = Instant::now();
    let e = client
        .call_with_timeout("DescribeSmsSignList", r#"{"International":0}"#, Some(Duration::from_millis(300)))
        .unwrap_err();
    let took = started.elapsed();
    assert!(took < Duration::from_millis(1000), "{took:?}");
    assert_eq!(e.code(), "ClientError.Timeout");
    assert!(e.message().contains("cvm_role"), "{}", e.message());
}

#[test]
fn garbage_from_the_metadata_service_is_described_never_quoted() {
    let server = Hostile::start(|mut s| {
        while read_request(&mut s) {
            let body = r#"{"TmpSecretId":"AKIDleak","TmpSecretKey":"leakedkey-9f8e","Token":"leakedtoken-7a6b","ExpiredTime":"soon","Code":"Success"}"#;
            if s.write_all(&answer("200 OK", "application/json", body)).is_err() {
                return;
            }
        }
    });
    let client = client(&format!(
        r#","credential_source":"cvm_role","cvm_role_name":"r1","metadata_endpoint":"{}""#,
        server.url()
    ));
    let seen = events(&client);
    let e = call(&client).unwrap_err();
    assert_eq!(e.code(), "ClientError.CredentialsUnavailable");
    assert!(e.message().contains("wrong type"), "{}", e.message());
    let everything = format!("{e} {e:?} {} {:?} {client:?}", e.to_envelope_json(), seen.lock().unwrap());
    for secret in ["leakedkey-9f8e", "leakedtoken-7a6b"] {
        assert!(!everything.contains(secret), "{everything}");
    }
}

#[test]
fn an_unbound_role_and_an_unknown_role_name_are_told_apart() {
    let server = Hostile::start(|mut s| {
        while read_request(&mut s) {
            if s.write_all(&answer("404 Not Found", "text/plain", "not found")).is_err() {
                return;
            }
        }
    });
    let discovered = client(&format!(r#","credential_source":"cvm_role","metadata_endpoint":"{}""#, server.url()));
    let e = call(&discovered).unwrap_err();
    assert!(e.message().contains("no CAM role is bound to this instance"), "{}", e.message());
    let named = client(&format!(
        r#","credential_source":"cvm_role","cvm_role_name":"other","metadata_endpoint":"{}""#,
        server.url()
    ));
    let e = call(&named).unwrap_err();
    assert!(e.message().contains("no role `other`") && e.message().contains("cvm_role_name"), "{}", e.message());
}

#[test]
fn an_sts_refusal_surfaces_with_the_services_code() {
    let server = Hostile::start(|mut s: TcpStream| {
        if read_request(&mut s) {
            let body = r#"{"Response":{"Error":{"Code":"ResourceNotFound.RoleNotFound","Message":"role not found"},"RequestId":"sts-r1"}}"#;
            answer_and_close(&mut s, &answer("200 OK", "application/json", body));
        }
    });
    let client = client(&format!(
        r#","secret_id":"AKIDbase","secret_key":"basekey-secret-1","role_arn":"qcs::cam::uin/1:roleName/none","sts_endpoint":"{}""#,
        server.url()
    ));
    let e = call(&client).unwrap_err();
    assert_eq!((e.kind(), e.code(), e.request_id()), (ErrorKind::Api, "ResourceNotFound.RoleNotFound", "sts-r1"));
    assert!(e.message().contains("assume_role (base: fixed keys)") && e.message().contains("role not found"));
    assert!(!format!("{e:?} {}", e.to_envelope_json()).contains("basekey-secret-1"));
    // The fixed base keys cannot be replaced under a role source.
    assert_eq!(client.set_credentials("AKIDx", "y", None).unwrap_err().kind(), ErrorKind::InvalidArgument);
}

#[test]
fn a_missing_token_file_is_named() {
    let client = client(
        r#","credential_source":"oidc","oidc_provider_id":"OIDC","oidc_token_file":"/nonexistent/tcsms/token","role_arn":"qcs::cam::uin/1:roleName/r","sts_endpoint":"http://127.0.0.1:1""#,
    );
    let e = call(&client).unwrap_err();
    assert_eq!(e.code(), "ClientError.CredentialsUnavailable");
    assert!(e.message().contains("oidc: token file /nonexistent/tcsms/token"), "{}", e.message());
}
