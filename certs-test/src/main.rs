//! Generates the test PKI.
fn main() {}
