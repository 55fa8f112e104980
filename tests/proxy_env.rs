//! Proxies from the environment. One test only: it sets process environment variables,
//! which the other tests of a binary (threads of one process) would see.

use tcsms::{Client, ErrorKind};

const CONFIG: &str = r#"{"secret_id":"AKIDproxyenv","secret_key":"proxy-env-secret","endpoint":"http://127.0.0.1:9"}"#;

#[test]
fn socks_proxies_in_the_environment_are_refused_when_the_client_is_made() {
    const VARIABLES: [&str; 6] = ["ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"];
    for name in VARIABLES {
        std::env::remove_var(name);
    }
    // Before the fix the client was made and connected directly, ignoring the proxy.
    for (name, scheme) in [("HTTPS_PROXY", "socks5"), ("https_proxy", "socks5h"), ("ALL_PROXY", "socks4")] {
        std::env::set_var(name, format!("{scheme}://user:env-proxy-pw@127.0.0.1:1080"));
        let e = Client::from_json(CONFIG).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{name}={scheme}");
        let message = e.message();
        assert!(message.contains(name) && message.contains(&format!("{scheme}://")), "{message}");
        assert!(!e.to_envelope_json().contains("env-proxy-pw"), "{message}");
        std::env::remove_var(name);
    }
    // An HTTP proxy from the environment is still taken.
    std::env::set_var("HTTPS_PROXY", "http://127.0.0.1:3128");
    Client::from_json(CONFIG).unwrap();
    std::env::remove_var("HTTPS_PROXY");
}
