import Config

config :shop, ShopWeb.Endpoint,
  url: [host: "shop.example.com"],
  secret_key_base: "x8Fv1QeZr2Lm7Tn4Wb9Yc3Hd6Jk0Pa5Su8Gi1Ro4Ve7Xw2Nz"
