//! How a request names its session: the id cookie, or (opt-in) the
//! client's address.

use std::net::IpAddr;

use sha2::{Digest, Sha256};

use super::{DRIVER, MemoryDriver};
use crate::{
    SessionError,
    driver::{SESSION_ID_BYTES, SessionId},
    integration::RequestContext,
};

#[derive(Clone, Debug)]
pub(super) enum Keying {
    Cookie,
    ClientIp { trusted_proxies: Vec<IpAddr> },
}

impl MemoryDriver {
    /// The id a request refers to: its cookie, or its client address when IP
    /// keying is on.
    pub(super) fn request_id(
        &self,
        request: &RequestContext,
    ) -> Result<Option<SessionId>, SessionError> {
        match &self.keying {
            Keying::Cookie => Ok(self.id_cookie.read(request)),
            Keying::ClientIp { trusted_proxies } => match request.client_ip(trusted_proxies) {
                Some(ip) => Ok(Some(self.ip_id(ip))),
                None => Err(SessionError::backend(
                    DRIVER,
                    "client-IP keying is on, but the request carries no client address; \
                     the integration must call RequestContext::with_peer_ip",
                )),
            },
        }
    }

    fn ip_id(&self, ip: IpAddr) -> SessionId {
        let mut hasher = Sha256::new();
        hasher.update(self.ip_salt);
        match ip {
            IpAddr::V4(v4) => hasher.update(v4.octets()),
            IpAddr::V6(v6) => hasher.update(v6.octets()),
        }
        let digest = hasher.finalize();
        let mut bytes = [0u8; SESSION_ID_BYTES];
        bytes.copy_from_slice(&digest[..SESSION_ID_BYTES]);
        SessionId::from_bytes(bytes)
    }
}
