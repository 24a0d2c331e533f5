//! Unit tests: the validation rules one by one ([`rules`]), the configuration and whole calls
//! in-process against the demo upstream on a loopback port ([`service`]).

mod rules;
mod service;
