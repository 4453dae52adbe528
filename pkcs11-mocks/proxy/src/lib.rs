//! Proxy
