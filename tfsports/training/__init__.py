"""The shared training layer: strategies, run directories, the resumable fit
loop and its guards (`loop`), the run-directory lock (`lock`), the job
contract (`job`) and the `tfsports train|export JOB` commands (`command`).
It serves GAN and non-GAN jobs alike and never imports a job."""
