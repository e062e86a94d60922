enum ZooVerifyPlaceholder {}
