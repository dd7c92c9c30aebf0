//! HTTP tests of the web app: the real server on port 0 with a fresh database per test, on
//! SQLite always and on PostgreSQL when `PARTERRE_TEST_PG` is set.

mod api;
mod helpers;
mod hostile_http;
mod hostile_money;
mod hostile_revocation;
mod hostile_warehouse;
mod pages;
mod permissions;
mod rejections;
mod sales;
mod warehouse;
