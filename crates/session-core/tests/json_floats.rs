//! Floats come back from a session bit for bit.
//!
//! Found by fuzzing (`fuzz/` target `session_json`): serde_json's default
//! float parsing may read its own output one ULP off, so a float stored in a
//! session came back changed on the next request. session-core enables
//! serde_json's `float_roundtrip` feature.

use http::StatusCode;
use session_core::{
    CookieDriver, SessionConfig, SessionManager,
    driver::{SessionData, StoredValue},
    integration::RequestContext,
};

/// Floats whose shortest decimal form the default parser misreads, and a few
/// ordinary and extreme ones.
const FLOATS: [f64; 7] = [
    1.844_674_407_370_974_3e28,
    1.844_674_407_370_974_5e28,
    0.1,
    -0.0,
    5e-324,
    1.797_693_134_862_315_7e308,
    123_456_789.123_456_79,
];

#[test]
fn session_json_reads_its_own_floats_exactly() {
    for float in FLOATS {
        let mut data = SessionData::default();
        data.session.insert(
            "f",
            StoredValue::from_serialize(&float).expect("a float is JSON"),
        );
        let text = serde_json::to_string(&data).expect("serialize");
        let back: SessionData = serde_json::from_str(&text).expect("parse");
        let read: f64 = back
            .session
            .get("f")
            .expect("stored")
            .parse_as()
            .expect("a float");
        assert_eq!(
            read.to_bits(),
            float.to_bits(),
            "{float:e} came back as {read:e}"
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_float_set_in_a_session_comes_back_unchanged() {
    let config = SessionConfig::default()
        .with_secret("a float test secret, 32 bytes or more")
        .expect("secret");
    let manager = SessionManager::builder()
        .driver(
            "cookie",
            CookieDriver::from_config(&config).expect("driver"),
        )
        .build()
        .expect("manager");
    for driver in ["memory", "cookie"] {
        for float in FLOATS {
            let sessions = manager.request(RequestContext::new());
            let session = sessions.driver(driver).await.expect("load");
            session.set("f", float).expect("set");
            let cookies = sessions.finish(StatusCode::SEE_OTHER).await.expect("save");
            let header: Vec<String> = cookies.iter().map(|c| c.stripped().to_string()).collect();
            let sessions = manager.request(RequestContext::from_cookie_header(&header.join("; ")));
            let session = sessions.driver(driver).await.expect("load");
            let read: f64 = session.get_as("f").expect("a float").expect("stored");
            assert_eq!(
                read.to_bits(),
                float.to_bits(),
                "{driver}: {float:e} came back as {read:e}"
            );
        }
    }
}
