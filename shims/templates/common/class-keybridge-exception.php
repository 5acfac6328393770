<?php
/**
 * Keybridge_Exception: every keybridge failure in PHP.
 *
 * @package Keybridge
 */

/**
 * A failure with a stable problem type: one the agent answered (application/problem+json)
 * or one the client raised itself (Keybridge_Spec::CLIENT_PROBLEM_TYPES).
 *
 * Messages never hold a value, a wrapping key or the token: callers may log them.
 */
class Keybridge_Exception extends RuntimeException {

	/**
	 * The problem type, e.g. 'kek-mismatch' or 'agent-unreachable'.
	 *
	 * @var string
	 */
	private $problem_type;

	/**
	 * The HTTP status the agent answered, 0 when it gave none.
	 *
	 * @var int
	 */
	private $http_status;

	/**
	 * The request field at fault, '' when none.
	 *
	 * @var string
	 */
	private $field;

	/**
	 * A failure of one problem type.
	 *
	 * @param string         $problem_type The stable problem type.
	 * @param string         $message      What went wrong, without secrets.
	 * @param int            $http_status  The agent's HTTP status, 0 when there was no answer.
	 * @param string         $field        The request field at fault, '' when none.
	 * @param Throwable|null $previous     The cause, if any.
	 */
	public function __construct( string $problem_type, string $message, int $http_status = 0, string $field = '', $previous = null ) {
		parent::__construct( $message, $http_status, $previous );
		$this->problem_type = $problem_type;
		$this->http_status  = $http_status;
		$this->field        = $field;
	}

	/**
	 * The stable problem type.
	 *
	 * @return string E.g. 'key-not-found'.
	 */
	public function problem_type(): string {
		return $this->problem_type;
	}

	/**
	 * The agent's HTTP status.
	 *
	 * @return int 0 when the agent gave none (the client failed before or instead of an answer).
	 */
	public function http_status(): int {
		return $this->http_status;
	}

	/**
	 * The request field at fault.
	 *
	 * @return string E.g. 'wrapping_key'; '' when none.
	 */
	public function field(): string {
		return $this->field;
	}
}
