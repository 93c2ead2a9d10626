//! A model-based check: random sequences of session operations across
//! simulated requests and responses, compared after every operation with a
//! plain model (a map and a flash map with the seed's clearing rule).

use http::StatusCode;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::Browser;
use crate::{Session, SessionManager};

/// One operation on the session.
#[derive(Clone, Debug)]
pub enum Op {
    /// `set(key, value)`
    Set(String, Value),
    /// `flash(key, value)`
    Flash(String, Value),
    /// `delete(key)`
    Delete(String),
    /// `pull(key)`
    Pull(String),
    /// `reset()`
    Reset,
    /// `reset_flash()`
    ResetFlash,
    /// `keep()`
    Keep,
    /// `regenerate()`
    Regenerate,
    /// `invalidate()`
    Invalidate,
}

/// One request: its operations and the status its response ends with.
#[derive(Clone, Debug)]
pub struct Request {
    /// The operations, in order.
    pub ops: Vec<Op>,
    /// The response status: 200, 303, 404 or 500.
    pub status: u16,
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![Just("a"), Just("b"), Just("c"), Just("user name")].prop_map(str::to_owned)
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!(0)),
        Just(json!("")),
        Just(json!(false)),
        Just(json!(null)),
        any::<i32>().prop_map(|n| json!(n)),
        "[a-z<>&\"' ]{0,12}".prop_map(|s| json!(s)),
        Just(json!({"name": "Ada", "roles": ["admin"]})),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (key(), value()).prop_map(|(k, v)| Op::Set(k, v)),
        4 => (key(), value()).prop_map(|(k, v)| Op::Flash(k, v)),
        2 => key().prop_map(Op::Delete),
        2 => key().prop_map(Op::Pull),
        1 => Just(Op::Reset),
        1 => Just(Op::ResetFlash),
        1 => Just(Op::Keep),
        1 => Just(Op::Regenerate),
        1 => Just(Op::Invalidate),
    ]
}

/// Sequences of 1 to `max_requests` requests of 0 to 5 operations each.
pub fn requests(max_requests: usize) -> impl Strategy<Value = Vec<Request>> {
    let request = (
        proptest::collection::vec(op(), 0..6),
        prop_oneof![4 => Just(200u16), 3 => Just(303u16), 2 => Just(404u16), 1 => Just(500u16)],
    )
        .prop_map(|(ops, status)| Request { ops, status });
    proptest::collection::vec(request, 1..=max_requests)
}

#[derive(Clone, Debug, Default, PartialEq)]
struct Model {
    session: Map<String, Value>,
    flash: Map<String, Value>,
}

impl Model {
    fn get(&self, key: &str) -> Option<&Value> {
        self.flash.get(key).or_else(|| self.session.get(key))
    }
    fn all(&self) -> Value {
        let mut all = self.session.clone();
        all.extend(self.flash.clone());
        Value::Object(all)
    }
}

fn check(session: &Session, model: &Model, context: &str) {
    assert_eq!(session.all(), model.all(), "all() after {context}");
    for key in ["a", "b", "c", "user name"] {
        assert_eq!(
            session.has(key),
            model.get(key).is_some(),
            "has({key}) after {context}"
        );
        assert_eq!(
            session.get(key).as_ref(),
            model.get(key),
            "get({key}) after {context}"
        );
    }
}

/// Runs `requests` against the manager's default driver and against the
/// model; panics at the first difference.
pub async fn run(manager: SessionManager, requests: Vec<Request>) {
    let mut browser = Browser::new(manager);
    let mut model = Model::default();
    for (n, request) in requests.iter().enumerate() {
        let status = StatusCode::from_u16(request.status).expect("status");
        let before = model.clone();
        let mut keep = false;
        let ops = request.ops.clone();
        let after_ops = browser
            .request(status, |session| {
                check(session, &model, &format!("loading request {n}"));
                for (i, op) in ops.iter().enumerate() {
                    let context = format!("request {n} op {i} {op:?}");
                    match op {
                        Op::Set(k, v) => {
                            session.set(k, v).expect("set");
                            model.session.insert(k.clone(), v.clone());
                        }
                        Op::Flash(k, v) => {
                            session.flash(k, v).expect("flash");
                            model.flash.insert(k.clone(), v.clone());
                        }
                        Op::Delete(k) => {
                            let expected = model.get(k).is_some();
                            assert_eq!(session.delete(k).expect("open"), expected, "{context}");
                            model.session.remove(k);
                            model.flash.remove(k);
                        }
                        Op::Pull(k) => {
                            let expected = model.get(k).cloned();
                            assert_eq!(session.pull(k).expect("open"), expected, "{context}");
                            model.session.remove(k);
                            model.flash.remove(k);
                        }
                        Op::Reset => {
                            session.reset().expect("open");
                            model = Model::default();
                        }
                        Op::ResetFlash => {
                            session.reset_flash().expect("open");
                            model.flash.clear();
                        }
                        Op::Keep => {
                            session.keep().expect("open");
                            keep = true;
                        }
                        Op::Regenerate => session.regenerate().expect("open"),
                        Op::Invalidate => {
                            session.invalidate().expect("open");
                            model = Model::default();
                        }
                    }
                    check(session, &model, &context);
                }
                model.clone()
            })
            .await
            .expect("request");
        model = if status.is_server_error() {
            before
        } else if status == StatusCode::OK && !keep {
            Model {
                flash: Map::new(),
                ..after_ops
            }
        } else {
            after_ops
        };
    }
    let seen = browser.view().await.expect("final view");
    assert_eq!(seen, model.all(), "final state after {requests:?}");
}
