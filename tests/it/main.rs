//! The one integration test binary: it links the library once, and its
//! tests share one moto (`support::Moto::shared`). Each module is one
//! concern; `support` is the test bed they share.

mod attribution;
mod attribution_sts;
mod bench;
mod client_matrix;
mod clients;
mod containers;
mod docs;
mod doctor;
mod enforce;
mod exec_server;
mod gateway;
mod gateway_clients;
mod generated;
mod guards;
mod hygiene;
mod layers;
mod load;
mod localserver;
mod metrics;
mod narrow_shares;
mod narrowing;
mod own_programs;
mod package;
mod properties;
mod real_aws;
mod scopes;
mod service;
mod socket_fetch;
mod support;
