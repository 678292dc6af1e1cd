/**
 * HAS-GPU's request-rate predictor (internal/controller/request_predictor_kalman.go): a scalar
 * Kalman filter with A = H = 1, process noise Q = 1 and measurement noise R = 10, whose
 * estimate is then pushed up by alpha x sqrt(P) and to at least the measurement plus a minimum
 * buffer. The push is kept in the state, as in HAS-GPU, so the estimate carries a standing
 * over-provisioning margin (about 6 rps in steady state with alpha = 1, buffer = 5).
 */
export interface HasKalmanOptions {
  readonly q?: number | undefined;
  readonly r?: number | undefined;
  readonly alpha?: number | undefined;
  readonly minBuffer?: number | undefined;
}

export class HasKalman {
  readonly #q: number;
  readonly #r: number;
  readonly #alpha: number;
  readonly #minBuffer: number;
  #x = 0;
  #p = 1;

  constructor(o: HasKalmanOptions = {}) {
    this.#q = o.q ?? 1;
    this.#r = o.r ?? 10;
    this.#alpha = o.alpha ?? 1;
    this.#minBuffer = o.minBuffer ?? 5;
  }

  get estimate(): number {
    return this.#x;
  }

  get variance(): number {
    return this.#p;
  }

  /** Feeds one measured rate and returns the predicted rate for the next period. */
  update(measurement: number): number {
    const pPred = this.#p + this.#q;
    const k = pPred / (pPred + this.#r);
    this.#x = this.#x + k * (measurement - this.#x);
    this.#p = (1 - k) * pPred;
    this.#x += this.#alpha * Math.sqrt(this.#p);
    if (this.#x < measurement + this.#minBuffer) this.#x = measurement + this.#minBuffer;
    return this.#x;
  }
}
