//! One integration-test crate: every test module links the library once.
//! Support modules (`*_support`, `ui_common`, `openapi`) hold the shared harnesses.

mod engine_support;
mod openapi;
mod relay_support;
mod sim_support;
#[cfg(feature = "gui")]
mod ui_common;

mod cli_catalog;
mod cli_day;
mod cli_loyalty;
mod cli_no_relay;
mod compliance_journal;
mod compliance_saft;
mod compliance_signatures;
mod day_tenders;
mod day_training;
mod engine_crash;
mod engine_faults;
mod engine_flow;
mod engine_followup;
mod engine_loyalty;
mod engine_review;
mod engine_salesunit;
mod engine_soak;
mod layers;
mod openapi_conformance;
mod print_receipt;
mod relay_crash;
mod relay_delivery;
mod relay_ingest;
mod relay_sim_e2e;
mod sim_auth;
mod sim_cli;
mod sim_epayment;
mod sim_exchange;
mod sim_faults;
mod sim_flow;
mod sim_idempotency;
mod sim_login;
mod sim_qr;
mod sim_webhooks;
mod store_concurrency;
mod store_journal;
mod store_loyalty;
mod store_open;
mod store_repos;
mod ui_customer_display;
mod ui_day;
mod ui_flow;
mod ui_loyalty;
mod ui_screenshot;
mod vipps_client;
mod vipps_login;
