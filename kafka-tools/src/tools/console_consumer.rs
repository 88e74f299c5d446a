//! stub
use std::ffi::OsString;
pub async fn run(_args: Vec<OsString>) -> crate::error::Result<()> { Ok(()) }
