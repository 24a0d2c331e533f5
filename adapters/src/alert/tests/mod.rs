//! Unit tests: the validation rules one by one ([`rules`]), the configuration and whole calls
//! in-process against the demo upstream on a loopback port ([`service`]), and what a SUCCESS
//! answer returns, one test per rule of seed 004 §2.3 and §3.1 ([`returned`]).

mod returned;
mod rules;
mod service;
