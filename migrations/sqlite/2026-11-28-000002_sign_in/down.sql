DROP TABLE sign_in_nonces;
