//! Calls from one worker to another (a follower forwarding a write to the leader): over
//! https with the worker's truststore (and its own certificate when the cluster requires
//! client certificates), carrying the worker's credentials when REST authentication is on.

use std::time::Duration;

use crate::config::WorkerConfig;

/// An HTTP agent for calls to other workers of the cluster.
pub fn inter_worker_agent(worker: &WorkerConfig, timeout: Duration) -> ureq::Agent {
    let mut config = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false);
    if let Some(tls) = &worker.rest_tls {
        config = config.tls_config(tls.client_tls());
    }
    config.build().into()
}

/// The `Authorization` header value calls to other workers carry, if any.
pub fn inter_worker_authorization(worker: &WorkerConfig) -> Option<String> {
    worker.rest_auth.internal_authorization()
}
