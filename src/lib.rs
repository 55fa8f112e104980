pub mod api;
pub mod sign;
