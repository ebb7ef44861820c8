"""The trajectory GAN: forecasting players' paths and filling gaps in their
tracks (data, model, GAN, recipe, export, `tfsports forecast`)."""
